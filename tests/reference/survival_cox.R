# Reference values for cartlens.stats.cox / concordance (survival_stats.md §4, §7.1).
# Regenerate with:  Rscript tests/reference/survival_cox.R   (the test suite never needs R)
suppressMessages({library(survival); library(jsonlite)})
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")))

lung2 <- lung
dat <- list(time = lung2$time, status = lung2$status, age = lung2$age, sex = lung2$sex,
            ph_ecog = lung2$ph.ecog, inst = lung2$inst, wt_loss = lung2$wt.loss)
out$lung <- dat

fitinfo <- function(f) {
  s <- summary(f)
  r <- list(coef = unname(coef(f)), var = unname(f$var), loglik = f$loglik, score = unname(f$score),
       wald = unname(f$wald.test), iter = f$iter, n = f$n, nevent = f$nevent,
       lp = unname(f$linear.predictors), means = unname(f$means),
       concordance = unname(f$concordance[c("concordant","discordant","tied.x","tied.y","tied.xy","concordance","std")]),
       logtest = unname(s$logtest), waldtest = unname(s$waldtest), sctest = unname(s$sctest),
       conf_int = unname(s$conf.int), coefficients = unname(s$coefficients))
  if (!is.null(f$naive.var)) { r$naive_var <- unname(f$naive.var); r$rscore <- f$rscore; r$robscore <- unname(s$robscore) }
  r
}
L <- lung
out$fits <- list(
  efron = fitinfo(coxph(Surv(time, status) ~ age + sex, L)),
  breslow = fitinfo(coxph(Surv(time, status) ~ age + sex, L, ties = "breslow")),
  robust_efron = fitinfo(coxph(Surv(time, status) ~ age + sex, L, robust = TRUE)),
  robust_breslow = fitinfo(coxph(Surv(time, status) ~ age + sex, L, robust = TRUE, ties = "breslow")),
  strata_ecog = fitinfo(coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), L)),
  three = fitinfo(coxph(Surv(time, status) ~ age + sex + wt.loss, L))
)
Lc <- L[!is.na(L$inst), ]
out$fits$cluster_efron <- fitinfo(coxph(Surv(time, status) ~ age + sex, Lc, cluster = inst))
out$fits$cluster_breslow <- fitinfo(coxph(Surv(time, status) ~ age + sex, Lc, cluster = inst, ties = "breslow"))
# 0/1 covariate: R does not centre it (nocenter = c(-1, 0, 1))
L$female <- as.integer(L$sex == 2)
out$fits$female01 <- fitinfo(coxph(Surv(time, status) ~ age + female, L))

f <- coxph(Surv(time, status) ~ age + sex, lung)
bh <- basehaz(f, centered = TRUE); bh0 <- basehaz(f, centered = FALSE)
sf <- survfit(f, newdata = data.frame(age = c(60, 70), sex = c(1, 2)))
out$basehaz <- list(time = bh$time, hazard = bh$hazard, hazard_uncentered = bh0$hazard,
                    pred_time = sf$time, pred_surv = unname(sf$surv))
fb <- coxph(Surv(time, status) ~ age + sex, lung, ties = "breslow")
out$basehaz_breslow <- list(time = basehaz(fb)$time, hazard = basehaz(fb)$hazard)
fs <- coxph(Surv(time, status) ~ age + sex + strata(ph.ecog), lung)
bs <- basehaz(fs)
out$basehaz_strata <- list(time = bs$time, hazard = bs$hazard, strata = as.character(bs$strata))
sfs <- survfit(fs, newdata = data.frame(age = c(60, 70), sex = c(1, 2), ph.ecog = c(1, 1)))
out$pred_strata <- list(stratum = 1, time = sfs$time, surv = unname(sfs$surv))

z <- cox.zph(f)
out$zph <- list(chisq = unname(z$table[, "chisq"]), df = unname(z$table[, "df"]), p = unname(z$table[, "p"]))
zb <- cox.zph(fb)
out$zph_breslow <- list(chisq = unname(zb$table[, "chisq"]), p = unname(zb$table[, "p"]))
z2 <- cox.zph(f, transform = "identity")
out$zph_identity <- list(chisq = unname(z2$table[, "chisq"]), p = unname(z2$table[, "p"]))
zs <- cox.zph(fs)
out$zph_strata <- list(chisq = unname(zs$table[, "chisq"]), p = unname(zs$table[, "p"]))

v <- veteran
v$adeno <- as.integer(v$celltype == "adeno"); v$smallcell <- as.integer(v$celltype == "smallcell")
v$large <- as.integer(v$celltype == "large")
out$veteran <- list(time = v$time, status = v$status, karno = v$karno, age = v$age, trt = v$trt,
                    smallcell = v$smallcell, adeno = v$adeno, large = v$large)
out$fits$veteran <- fitinfo(coxph(Surv(time, status) ~ karno + age + trt + smallcell + adeno + large, v))

# synthetic cohort: heavy ties, weights, strata, a skewed marker, times in months with float "near ties"
set.seed(20261122)
n <- 300
g <- data.frame(x1 = rlnorm(n, 3, 1), x2 = rbinom(n, 1, 0.4), x3 = rnorm(n), centre = sample(c("A","B","C"), n, TRUE))
h <- 0.02 * exp(0.01 * g$x1 + 0.6 * g$x2 - 0.3 * g$x3)
tt <- ceiling(rexp(n, h) / 10) * 10 / 30.4375          # coarse days -> months: many ties
cc <- runif(n, 0, 8)
g$time <- pmin(tt, cc); g$status <- as.integer(tt <= cc)
g$w <- round(runif(n, 0.5, 2), 2)
g$id <- sample(1:60, n, TRUE)
out$synth <- as.list(g)
out$synth_fits <- list(
  efron = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3, g)),
  breslow = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3, g, ties = "breslow")),
  strata = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3 + strata(centre), g)),
  weights = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3, g, weights = w)),
  cluster = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3, g, cluster = id)),
  strata_cluster_breslow = fitinfo(coxph(Surv(time, status) ~ x1 + x2 + x3 + strata(centre), g, cluster = id, ties = "breslow"))
)
gs <- coxph(Surv(time, status) ~ x1 + x2 + x3 + strata(centre), g)
zz <- cox.zph(gs)
out$synth_zph <- list(chisq = unname(zz$table[, "chisq"]), p = unname(zz$table[, "p"]))
cg <- concordance(Surv(time, status) ~ x1, g, reverse = TRUE)
out$synth_conc_x1 <- list(c = cg$concordance, se = sqrt(cg$var), count = unname(cg$count))
cs <- concordance(Surv(time, status) ~ x3 + strata(centre), g, reverse = TRUE)
out$synth_conc_strata <- list(c = cs$concordance, se = sqrt(cs$var), count = unname(colSums(cs$count)))
cw <- concordance(Surv(time, status) ~ x1, g, weights = w, reverse = TRUE)
out$synth_conc_weights <- list(c = cw$concordance, se = sqrt(cw$var), count = unname(cw$count))
out$synth_conc_x2 <- (function(k) list(c = k$concordance, se = sqrt(k$var), count = unname(k$count)))(
  concordance(Surv(time, status) ~ x2, g, reverse = TRUE))

# several strata columns (R interaction strata(a, b)), used by the CLI's comma-separated --strata
out$multi_strata <- list(
  logrank_chisq = survdiff(Surv(time, status) ~ sex + strata(ph.ecog, inst), lung)$chisq,
  cox_coef = unname(coef(coxph(Surv(time, status) ~ age + strata(sex, ph.ecog), lung))))

# separation: x = 1 fails first -> R warns "coefficient may be infinite"
sep <- data.frame(time = 1:10, status = rep(1, 10), x = c(1, 1, 1, 1, 1, 0, 0, 0, 0, 0), z = c(0.3, -1, 2, 0.5, 1, -0.2, 0.1, -1.5, 0.7, 0))
w <- NULL
fsep <- withCallingHandlers(coxph(Surv(time, status) ~ x + z, sep), warning = function(m) { w <<- conditionMessage(m); invokeRestart("muffleWarning") })
out$separation <- list(data = as.list(sep), warning = w, coef = unname(coef(fsep)), iter = fsep$iter, loglik = fsep$loglik)

# starting values: loglik[1], score and Wald tests are at / against init (robust score too)
fi <- coxph(Surv(time, status) ~ age + sex, lung, init = c(0.01, -0.3))
fir <- coxph(Surv(time, status) ~ age + sex, lung, init = c(0.01, -0.3), robust = TRUE)
out$init <- list(init = c(0.01, -0.3), loglik = fi$loglik, score = fi$score, wald = unname(fi$wald.test),
                 coef = unname(coef(fi)), iter = fi$iter, robust_score = fir$rscore, robust_wald = unname(fir$wald.test))

# monotone likelihood, tiny data: R runs out of iterations (iter = 21) and, as coxfit6 then applies chinv2 to
# the unfactored information, reports a diagonal variance 1 / diag(I)
nc <- data.frame(time = c(1, 1, 5, 7.35522445451485, 3.21111618639365, 7), status = c(1, 1, 1, 0, 0, 1),
                 x1 = c(1, 3, 8, 3, 10, 10), x2 = c(1, 1, 0, 0, 1, 0), x3 = c(1, 1, 1, 1, 3, 2))
w <- NULL
fnc <- withCallingHandlers(coxph(Surv(time, status) ~ x1 + x2 + x3, nc), warning = function(m) { w <<- conditionMessage(m); invokeRestart("muffleWarning") })
out$nonconverged <- list(data = as.list(nc), warning = w, coef = unname(coef(fnc)), var = unname(fnc$var),
                         iter = fnc$iter, loglik = fnc$loglik, score = fnc$score)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/reference/survival_cox.json")
