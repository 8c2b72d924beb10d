# Reference values for the study pipeline's CAR-IMPI procedure (cartlens.study.sections.car_impi_fit;
# spec survival_stats.md sections 1, 5, 6, 7): maxstat cutpoint of MTV on development PFS, Cox model with a
# linear spline of MTV at that knot + age + stage (treatment contrasts, stage 1 reference), uncentred LP,
# type-7 median/tercile cutoffs applied unchanged to validation, log-rank chi-square of the groups, Harrell's C,
# calibration slope and the development baseline survival at 12 months.
# Input: study_car_impi_input.csv (a synthetic demo cohort, cartlens.demo.generate(11, n_dev=160, n_val=80)).
# Regenerate with: Rscript tests/reference/study_car_impi.R   (from the repository root).
suppressPackageStartupMessages({library(survival); library(maxstat); library(jsonlite)})
d <- read.csv("tests/reference/study_car_impi_input.csv")
d$t <- d$pfs_days / 30.4375
dev <- d[d$cohort == "development", ]
val <- d[d$cohort == "validation", ]
ms <- maxstat.test(Surv(t, pfs_event) ~ mtv_ml, data = dev, smethod = "LogRank", pmethod = "Lau94",
                   minprop = 0.1, maxprop = 0.9)
k <- unname(ms$estimate)
design <- function(x) cbind(mtv_below = pmin(x$mtv_ml, k), mtv_above = pmax(x$mtv_ml - k, 0), age = x$age,
                            stage2 = as.numeric(x$stage == 2), stage3 = as.numeric(x$stage == 3),
                            stage4 = as.numeric(x$stage == 4))
Xd <- design(dev)
fit <- coxph(Surv(dev$t, dev$pfs_event) ~ Xd)
beta <- unname(coef(fit))
lp_dev <- drop(Xd %*% beta)
lp_val <- drop(design(val) %*% beta)
q <- unname(quantile(lp_dev, c(1/3, 1/2, 2/3)))     # type 7
grp <- function(pi, cuts) findInterval(pi, cuts, left.open = TRUE)   # PI <= q -> lower group
med_val <- grp(lp_val, q[2])
ter_val <- grp(lp_val, c(q[1], q[3]))
lr_med <- survdiff(Surv(val$t, val$pfs_event) ~ med_val)
lr_ter <- survdiff(Surv(val$t, val$pfs_event) ~ ter_val)
cval <- concordance(Surv(val$t, val$pfs_event) ~ lp_val, reverse = TRUE)
slope <- coxph(Surv(val$t, val$pfs_event) ~ lp_val)
bh <- basehaz(fit, centered = FALSE)
H12 <- bh$hazard[max(which(bh$time <= 12))]
out <- list(
  cutpoint = k, statistic = unname(ms$statistic), p_lau94 = ms$p.value,
  coef = setNames(as.list(beta), colnames(Xd)),
  cutoffs = list(lower_tercile = q[1], median = q[2], upper_tercile = q[3]),
  validation = list(n_high_median = sum(med_val == 1), tercile_sizes = as.numeric(table(factor(ter_val, 0:2))),
                    logrank_median_chisq = lr_med$chisq, logrank_tercile_chisq = lr_ter$chisq,
                    harrell_c = unname(cval$concordance), calibration_slope = unname(coef(slope))),
  baseline_surv_12m = exp(-H12),
  versions = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                  maxstat = as.character(packageVersion("maxstat"))))
write_json(out, "tests/reference/study_car_impi.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
