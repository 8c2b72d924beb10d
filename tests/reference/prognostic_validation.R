# Reference values for cartlens.stats.riskgroups / validation: development survival::rotterdam ->
# external validation survival::gbsg (Royston & Altman 2013; spec survival_stats.md §6-7), Uno's C,
# time-dependent AUC and rms::validate on survival::lung.
# Regenerate with: Rscript tests/reference/prognostic_validation.R   (from the repository root).
suppressPackageStartupMessages({library(survival); library(rms); library(maxstat); library(jsonlite)})

# ---- development -> validation pipeline ----------------------------------------------------
rot <- rotterdam
rot$rfs <- pmax(rot$recur, rot$death)
rot$rfstime <- ifelse(rot$recur == 1, rot$rtime, rot$dtime)
ms <- maxstat.test(Surv(rfstime, rfs) ~ nodes, data = rot, smethod = "LogRank")
kappa <- unname(ms$estimate)
design <- function(d) cbind(nodes_lo = pmin(d$nodes, kappa), nodes_hi = pmax(d$nodes - kappa, 0),
                            age = d$age, grade3 = as.numeric(d$grade == 3))
Xd <- design(rot)
fit <- coxph(Surv(rot$rfstime, rot$rfs) ~ Xd)
beta <- unname(coef(fit))
pi_dev <- drop(Xd %*% beta)                      # uncentred prognostic index
q <- quantile(pi_dev, c(1/3, 1/2, 2/3))
gb <- gbsg
Xv <- design(gb)
pi_val <- drop(Xv %*% beta)
grp <- function(pi, cuts) findInterval(pi, cuts, left.open = TRUE)   # PI <= q -> lower group
t0 <- 5 * 365.25
km_at <- function(time, status, g, t0) {
  s <- summary(survfit(Surv(time, status) ~ g), times = t0, extend = TRUE)
  unname(s$surv)
}
bh <- basehaz(fit, centered = FALSE)
H0 <- bh$hazard[max(which(bh$time <= t0))]
pred_val <- exp(-H0 * exp(pi_val)); pred_dev <- exp(-H0 * exp(pi_dev))
terc_dev <- grp(pi_dev, q[c(1, 3)]); terc_val <- grp(pi_val, q[c(1, 3)])
med_dev <- grp(pi_dev, q[2]); med_val <- grp(pi_val, q[2])
cal <- coxph(Surv(gb$rfstime, gb$status) ~ pi_val)
km_all_val <- summary(survfit(Surv(gb$rfstime, gb$status) ~ 1), times = t0)$surv
pipeline <- list(
  kappa = kappa, maxstat_M = unname(ms$statistic), beta = beta, se = unname(sqrt(diag(vcov(fit)))),
  quantiles = unname(q), t0 = t0, H0_t0 = H0,
  dev = list(time = rot$rfstime, event = rot$rfs, X = unname(Xd), pi = pi_dev,
             median_sizes = as.vector(table(med_dev)), tercile_sizes = as.vector(table(terc_dev)),
             median_chisq = survdiff(Surv(rot$rfstime, rot$rfs) ~ med_dev)$chisq,
             tercile_chisq = survdiff(Surv(rot$rfstime, rot$rfs) ~ terc_dev)$chisq,
             km_tercile_t0 = km_at(rot$rfstime, rot$rfs, terc_dev, t0),
             pred_tercile_t0 = as.vector(tapply(pred_dev, terc_dev, mean)),
             harrell_c = unname(concordance(fit)$concordance)),
  val = list(time = gb$rfstime, event = gb$status, X = unname(Xv), pi = pi_val,
             median_sizes = as.vector(table(med_val)), tercile_sizes = as.vector(table(terc_val)),
             median_chisq = survdiff(Surv(gb$rfstime, gb$status) ~ med_val)$chisq,
             tercile_chisq = survdiff(Surv(gb$rfstime, gb$status) ~ terc_val)$chisq,
             km_tercile_t0 = km_at(gb$rfstime, gb$status, terc_val, t0),
             pred_tercile_t0 = as.vector(tapply(pred_val, terc_val, mean)),
             km_all_t0 = km_all_val, pred_mean_t0 = mean(pred_val),
             harrell_c = unname(concordance(Surv(gb$rfstime, gb$status) ~ pi_val, reverse = TRUE)$concordance),
             calibration_slope = unname(coef(cal)), calibration_slope_se = unname(sqrt(vcov(cal)[1, 1])))
)

# ---- Uno's C and time-dependent AUC on lung (age + sex, Efron) -------------------------------
lung2 <- lung; lung2$event <- as.numeric(lung2$status == 2)
lfit <- coxph(Surv(time, event) ~ age + sex, data = lung2)
lp <- unname(lfit$linear.predictors)
uno <- concordance(lfit, timewt = "n/G2")
uno730 <- concordance(lfit, timewt = "n/G2", ymax = 730)
# cumulative/dynamic AUC with IPCW (Uno et al. 2007; Blanche et al. 2013): cases t_i <= t, event,
# weighted 1/G(t_i-); controls t_j > t (weight 1/G(t), constant); written out here independently.
td_auc <- function(time, status, marker, t) {
  G <- survfit(Surv(time, 1 - status) ~ 1)
  Gleft <- function(s) c(1, G$surv)[findInterval(s, G$time, left.open = TRUE) + 1]
  cases <- which(time <= t & status == 1); controls <- which(time > t)
  w <- 1 / Gleft(time[cases])
  num <- sum(w * sapply(cases, function(i) sum(marker[i] > marker[controls]) + 0.5 * sum(marker[i] == marker[controls])))
  num / (sum(w) * length(controls))
}
auc_times <- c(180, 365, 730)
lung_out <- list(time = lung2$time, event = lung2$event, age = lung2$age, sex = lung2$sex, lp = lp,
                 uno_c = unname(uno$concordance), uno_c_730 = unname(uno730$concordance),
                 harrell_c = unname(concordance(lfit)$concordance),
                 auc_times = auc_times, auc = sapply(auc_times, function(t) td_auc(lung2$time, lung2$event, lp, t)))

# ---- rms::validate (bootstrap optimism) on lung rcs(age, 4) + sex ----------------------------
dd <- datadist(lung2); options(datadist = "dd")
cf <- cph(Surv(time, event) ~ rcs(age, 4) + sex, data = lung2, x = TRUE, y = TRUE, surv = FALSE)
set.seed(123)
v <- rms::validate(cf, method = "boot", B = 200)
val_out <- list(X = unname(cf$x), index = rownames(v), apparent = unname(v[, "index.orig"]),
                optimism = unname(v[, "optimism"]), corrected = unname(v[, "index.corrected"]),
                B = 200, n_ok = unname(v[1, "n"]))

out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            rms = as.character(packageVersion("rms")), pipeline = pipeline, lung = lung_out, validate = val_out)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", matrix = "rowmajor"),
           "tests/reference/prognostic_validation.json")
