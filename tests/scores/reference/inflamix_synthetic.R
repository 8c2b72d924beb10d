# Synthetic stand-in InflaMix model and its reference posteriors, computed independently of cartlens.
#
# Regenerate with:  Rscript tests/scores/reference/inflamix_synthetic.R   (run from the repository root)
# Writes tests/scores/reference/inflamix_synthetic.json and inflamix_synthetic_model.RData.
#
# The model below is MADE UP (seeded random numbers, round scaling constants). It has the shape of the
# published InflaMix object (14 labs in model order, 2 full-covariance Gaussian components, mixing weights,
# per-lab scaling constants) but none of its content: cartlens ships no InflaMix parameters (inflamix.md §9).
# Posteriors follow the published assignment rule (inflamix.md §2, §4): ratio to ULN, log10 for CRP and
# ferritin, standardisation, marginal Gaussian densities over the observed labs with mvtnorm::dmvnorm.
# Two references are written per case: the plain-density computation as the original R assign_clust does it
# (NaN when both densities underflow), and the log-domain value (dmvnorm(log = TRUE) + log-sum-exp).
suppressPackageStartupMessages({ library(mvtnorm); library(jsonlite) })
set.seed(20250401)

labs <- c("albumin", "alk", "ast", "ferritin", "hb", "ldh", "plt", "tbr", "il10", "il6", "tnfa", "crp",
          "ddimer", "wbc")
p <- length(labs)
log_labs <- c("crp", "ferritin")
# made-up scaling constants (mean and SD of value/ULN, log10 scale for CRP and ferritin)
sc_mean <- c(0.75, 0.9, 0.7, 0.1, 0.6, 1.2, 0.4, 0.5, 1.5, 5, 0.7, 0.6, 3, 0.25)
sc_sd   <- c(0.12, 0.8, 0.5, 0.5, 0.12, 1.0, 0.2, 0.3, 3, 10, 0.5, 0.6, 3, 0.15)

rand_cov <- function(scale, floor) {
  a <- matrix(rnorm(p * p, sd = scale), p, p)
  s <- crossprod(a) / p + diag(floor, p)
  (s + t(s)) / 2
}
mu <- cbind(rnorm(p, -0.3, 0.25), rnorm(p, 0.8, 0.5))
mu[labs == "albumin", ] <- c(0.3, -0.9)      # low albumin in the inflammatory component, as in the paper
sig <- array(0, c(p, p, 2))
sig[, , 1] <- rand_cov(0.5, 0.25)           # tight non-inflammatory component
sig[, , 2] <- rand_cov(0.9, 0.3)             # wide inflammatory component
pro <- c(0.7, 0.3)
dimnames(mu) <- list(paste0("d0_", labs), NULL)
dimnames(sig) <- list(paste0("d0_", labs), paste0("d0_", labs), NULL)

# the same object layout as the calculator's model.RData (inflamix.md §3)
dev_mu <- mu; dev_sig <- sig; dev_pro <- pro; dev_inflammClus <- 2L; dev_LEASTinflammClus <- 1L
sc_devcoh_d0 <- data.frame(lab = labs, tr_uln_mean = sc_mean, tr_uln_sd = sc_sd)
save(dev_mu, dev_sig, dev_pro, dev_inflammClus, dev_LEASTinflammClus, sc_devcoh_d0,
     file = "tests/scores/reference/inflamix_synthetic_model.RData")

scale_lab <- function(lab, value, uln) {
  t <- value / uln
  if (lab %in% log_labs) t <- log10(t)
  i <- match(lab, labs)
  (t - sc_mean[i]) / sc_sd[i]
}
posterior <- function(case) {
  obs <- labs[labs %in% names(case$labs)]
  if (length(obs) < 2) return(list(plain = NA, log_domain = NA, n = length(obs)))
  z <- sapply(obs, function(l) scale_lab(l, case$labs[[l]][1], case$labs[[l]][2]))
  idx <- match(obs, labs)
  d <- sapply(1:2, function(k) pro[k] * dmvnorm(z, mu[idx, k], sig[idx, idx, k, drop = TRUE]))
  ld <- sapply(1:2, function(k) log(pro[k]) + dmvnorm(z, mu[idx, k], sig[idx, idx, k, drop = TRUE], log = TRUE))
  m <- max(ld)
  list(plain = d[2] / sum(d), log_domain = exp(ld[2] - m - log(sum(exp(ld - m)))), n = length(obs),
       scaled = as.list(z))
}

# value, ULN pairs in the calculator's units (inflamix.md §2)
A <- list(hb = c(11.5, 16.2), albumin = c(3.9, 5), ldh = c(210, 250), crp = c(0.6, 0.3), alk = c(85, 130),
          ast = c(22, 37), il6 = c(4, 5), il10 = c(6, 18), tnfa = c(10, 22), ddimer = c(0.8, 0.5),
          ferritin = c(300, 415), tbr = c(0.5, 1.2), plt = c(180, 400), wbc = c(5.2, 11))
B <- list(hb = c(8.9, 16.2), albumin = c(2.7, 5), ldh = c(900, 250), crp = c(12, 0.3), alk = c(300, 130),
          ast = c(120, 37), il6 = c(85, 5), il10 = c(40, 18), tnfa = c(40, 22), ddimer = c(11, 0.5),
          ferritin = c(3500, 415), tbr = c(2.9, 1.2), plt = c(60, 400), wbc = c(9, 11))
limited <- c("hb", "albumin", "ldh", "crp", "alk", "ast")
cases <- list(
  list(id = "S-1", labs = A),
  list(id = "S-2", labs = B),
  list(id = "S-3", labs = A[limited]),
  list(id = "S-4", labs = B[limited]),
  list(id = "S-5", labs = list(crp = c(5, 0.3), ldh = c(400, 250))),
  list(id = "S-6", labs = list(crp = c(5, 0.3))),
  list(id = "S-7", labs = list(hb = c(10.2, 16.2), albumin = c(3.4, 5), ldh = c(320, 250), crp = c(2.1, 0.3),
                                alk = c(120, 130), ast = c(30, 37))),
  list(id = "S-8", labs = list(crp = c(2.1, 0.5), hb = c(10.2, 16.2), albumin = c(3.4, 5), ldh = c(320, 250),
                                alk = c(120, 130), ast = c(30, 37))),
  list(id = "S-9", labs = list(hb = c(9, 16.2), plt = c(60, 400), wbc = c(2, 11))),
  list(id = "S-10", labs = list(ldh = c(60000, 250), ast = c(2000, 37), wbc = c(150, 11), tbr = c(30, 1.2))),
  list(id = "S-11", labs = list(il6 = c(30, 5), il10 = c(25, 18), tnfa = c(15, 22), ddimer = c(2.5, 0.5),
                                 ferritin = c(900, 415))),
  # patient P1 of tests/scores/data/cohort (day -1 labs)
  list(id = "S-12", labs = list(albumin = c(3.4, 5), alk = c(120, 130), ast = c(30, 37)))
)
for (shift in c(0.3, 0.6, 1, 1.5, 2.5, 4, 8)) {   # a CRP sweep through the decision region for S-12..S-17
  cases[[length(cases) + 1]] <- list(id = sprintf("S-CRP-%.1f", shift),
    labs = list(hb = c(10, 16.2), albumin = c(3.2, 5), ldh = c(350, 250), crp = c(shift, 0.3),
                alk = c(120, 130), ast = c(40, 37)))
}
results <- lapply(cases, function(case) {
  r <- posterior(case)
  list(id = case$id, labs = lapply(case$labs, as.numeric), n_labs = r$n,
       p_plain = if (is.na(r$plain)) NULL else r$plain,
       p_log_domain = if (is.na(r$log_domain)) NULL else r$log_domain,
       r_plain_is_nan = is.nan(r$plain), scaled = r$scaled)
})
out <- list(r_version = R.version.string, mvtnorm = as.character(packageVersion("mvtnorm")),
            note = "synthetic stand-in model, not InflaMix parameters",
            features = labs, weights = pro, means = lapply(1:2, function(k) unname(mu[, k])),
            covariances = lapply(1:2, function(k) unname(sig[, , k])), inflammatory_component_1based = 2L,
            scaling = list(lab = labs, mean = sc_mean, sd = sc_sd), cases = results)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null"),
           "tests/scores/reference/inflamix_synthetic.json")
