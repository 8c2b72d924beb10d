# Reference values for cartlens.stats.gee.logistic_gee and cartlens.failure.glmm.
# Regenerate with: Rscript tests/reference/gee_logistic.R   (the test suite itself never needs R)
# Writes tests/reference/gee_logistic.json: the simulated lesion data, geepack::geeglm fits
# (exchangeable, san.se), the Mancl-DeRouen bias-reduced covariance computed by explicit matrix
# algebra from geepack's fit (independent of statsmodels), and lme4::glmer random-intercept fits.
suppressPackageStartupMessages({library(geepack); library(lme4); library(jsonlite)})
set.seed(20211145)
n_pat <- 60
sizes <- sample(2:12, n_pat, replace = TRUE)
pid <- rep(seq_len(n_pat), sizes)
u <- rnorm(n_pat, 0, 0.9)[pid]                       # patient effect -> within-patient correlation
bulky <- rbinom(length(pid), 1, 0.25)
suv10 <- rbinom(length(pid), 1, 0.35)
extran <- rbinom(length(pid), 1, 0.30)
eta <- -1.6 + log(2.3) * bulky + log(2.1) * suv10 + log(1.5) * extran + u
y <- rbinom(length(pid), 1, plogis(eta))
d <- data.frame(patient = pid, y = y, bulky = bulky, suv10 = suv10, extran = extran)

md_cov <- function(fit, X, id) {
  # Mancl & DeRouen (2001) eq. (3): B^-1 [sum D' V^-1 (I-H)^-1 r r' (I-H)^-T V^-1 D] B^-1
  b <- coef(fit); mu <- as.vector(plogis(X %*% b)); a <- fit$geese$alpha; r <- d$y - mu
  p <- ncol(X); B <- matrix(0, p, p); parts <- list()
  for (g in unique(id)) {
    k <- which(id == g); n <- length(k)
    A <- diag(mu[k] * (1 - mu[k]), n); R <- matrix(a, n, n); diag(R) <- 1
    V <- sqrt(A) %*% R %*% sqrt(A); Vi <- solve(V); D <- A %*% X[k, , drop = FALSE]
    B <- B + t(D) %*% Vi %*% D; parts[[length(parts) + 1]] <- list(D = D, Vi = Vi, r = r[k], n = n)
  }
  Bi <- solve(B); M <- matrix(0, p, p); M0 <- matrix(0, p, p)
  for (q in parts) {
    H <- q$D %*% Bi %*% t(q$D) %*% q$Vi
    e <- solve(diag(q$n) - H, q$r)
    u <- t(q$D) %*% q$Vi %*% e; M <- M + u %*% t(u)
    u0 <- t(q$D) %*% q$Vi %*% q$r; M0 <- M0 + u0 %*% t(u0)
  }
  list(md = Bi %*% M %*% Bi, san = Bi %*% M0 %*% Bi)
}

fit_one <- function(terms) {
  f <- as.formula(paste("y ~", paste(terms, collapse = " + ")))
  fit <- geeglm(f, family = binomial, data = d, id = patient, corstr = "exchangeable")
  X <- model.matrix(f, d); v <- md_cov(fit, X, d$patient)
  g <- glmer(update(f, . ~ . + (1 | patient)), family = binomial, data = d, nAGQ = 25)
  list(terms = I(terms), coef = unname(coef(fit)), san_se = unname(summary(fit)$coefficients[, "Std.err"]),
       san_se_hand = sqrt(diag(v$san)), md_se = sqrt(diag(v$md)), alpha = unname(fit$geese$alpha),
       glmer_coef = unname(fixef(g)), glmer_se = unname(sqrt(diag(as.matrix(vcov(g))))),
       glmer_sd = unname(attr(VarCorr(g)$patient, "stddev")), glmer_loglik = as.numeric(logLik(g)))
}
# A harder data set for the GLMM: large patient effect (SD 2), many all-0 / all-1 clusters.
set.seed(469)
pid2 <- rep(seq_len(80), sample(1:9, 80, replace = TRUE))
x2 <- rbinom(length(pid2), 1, 0.4)
y2 <- rbinom(length(pid2), 1, plogis(-0.3 + log(2.3) * x2 + rnorm(80, 0, 2)[pid2]))
d2 <- data.frame(patient = pid2, y = y2, bulky = x2)
g2 <- glmer(y ~ bulky + (1 | patient), family = binomial, data = d2, nAGQ = 25)
hard <- list(data = d2, glmer_coef = unname(fixef(g2)), glmer_se = unname(sqrt(diag(as.matrix(vcov(g2))))),
             glmer_sd = unname(attr(VarCorr(g2)$patient, "stddev")), glmer_loglik = as.numeric(logLik(g2)))

out <- list(r_version = R.version.string, geepack = as.character(packageVersion("geepack")),
            lme4 = as.character(packageVersion("lme4")),
            call = "geeglm(y ~ ..., family = binomial, id = patient, corstr = 'exchangeable'); glmer(nAGQ = 25)",
            data = d,
            multivariable = fit_one(c("bulky", "suv10", "extran")),
            univariable_bulky = fit_one("bulky"), glmm_hard = hard)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, dataframe = "columns"), "tests/reference/gee_logistic.json")
