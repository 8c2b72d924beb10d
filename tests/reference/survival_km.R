# Reference values for cartlens.stats.km and cartlens.stats.logrank (survival_stats.md §2, §3).
# Regenerate with:  Rscript tests/reference/survival_km.R   (the test suite never needs R)
suppressMessages({library(survival); library(jsonlite)})
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")))
curve <- function(f) list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, n_censor = f$n.censor,
                          surv = f$surv, std_err = f$std.err, lower = f$lower, upper = f$upper)
med <- function(f) { q <- quantile(f, c(0.25, 0.5, 0.75)); list(q = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper)) }
at <- function(f, times) { s <- summary(f, times = times, extend = TRUE)
  list(times = times, time = s$time, surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper,
       n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor) }
kmset <- function(time, status, times) {
  r <- list()
  for (ct in c("log", "log-log", "plain", "logit", "arcsin")) {
    f <- survfit(Surv(time, status) ~ 1, conf.type = ct)
    r[[ct]] <- c(curve(f), list(quant = med(f), at = at(f, times)))
  }
  f90 <- survfit(Surv(time, status) ~ 1, conf.int = 0.9)
  r$log90 <- c(curve(f90), list(quant = med(f90)))
  r
}
out$lung <- list(time = lung$time, status = lung$status, sex = lung$sex, ph_ecog = lung$ph.ecog)
out$lung_km <- kmset(lung$time, lung$status == 2, c(0, 180, 200, 365, 400, 600, 730, 800, 1000, 1100))
out$lung_rmean <- unname(summary(survfit(Surv(time, status) ~ 1, lung))$table["rmean"])
m <- survfit(Surv(time, status) ~ sex, lung)
out$lung_sex_median <- list(median = unname(summary(m)$table[, "median"]), lower = unname(summary(m)$table[, "0.95LCL"]),
                            upper = unname(summary(m)$table[, "0.95UCL"]))
rf <- survfit(Surv(time, status == 1) ~ 1, lung)
out$lung_reverse <- unname(summary(rf)$table[c("median", "0.95LCL", "0.95UCL")])
rs <- survfit(Surv(time, status == 1) ~ sex, lung)
out$lung_reverse_sex <- list(median = unname(summary(rs)$table[, "median"]), lower = unname(summary(rs)$table[, "0.95LCL"]),
                             upper = unname(summary(rs)$table[, "0.95UCL"]))
# toy: median on an exact 0.5 plateau (R 2.5), and a curve that ends in 0
toy <- survfit(Surv(c(1, 2, 3, 4), c(1, 1, 1, 1)) ~ 1)
out$toy <- c(curve(toy), list(quant = med(toy), at = at(toy, c(0, 2.5, 5))))
toy2 <- survfit(Surv(c(1, 2, 2, 3, 5, 6, 6, 8), c(1, 0, 1, 1, 0, 1, 0, 0)) ~ 1)
out$toy2 <- c(curve(toy2), list(quant = med(toy2), at = at(toy2, c(0.5, 2, 4, 6, 9))))
# synthetic ties in months (float near-ties merged by timefix)
set.seed(7)
n <- 400
tt <- ceiling(rexp(n, 1/300) / 7) * 7 / 30.4375; cc <- runif(n, 0, 30)
st <- as.integer(tt <= cc); ti <- pmin(tt, cc)
grp <- sample(c("a", "b", "c"), n, TRUE); ctr <- sample(1:4, n, TRUE)
out$synth <- list(time = ti, status = st, group = grp, centre = ctr)
out$synth_km <- kmset(ti, st, c(1, 3, 6, 12, 24, 40))
# log-rank
sd <- function(f) list(chisq = f$chisq, df = length(f$n) - 1, p = pchisq(f$chisq, length(f$n) - 1, lower.tail = FALSE),
                       obs = unname(f$obs), exp = unname(f$exp), var = unname(f$var))
out$logrank <- list(
  lung_sex = sd(survdiff(Surv(time, status) ~ sex, lung)),
  lung_sex_strata = sd(survdiff(Surv(time, status) ~ sex + strata(ph.ecog), lung)),
  lung_sex_rho1 = sd(survdiff(Surv(time, status) ~ sex, lung, rho = 1)),
  lung_ecog = sd(survdiff(Surv(time, status) ~ ph.ecog, lung)),
  synth_group = sd(survdiff(Surv(ti, st) ~ grp)),
  synth_group_strata = sd(survdiff(Surv(ti, st) ~ grp + strata(ctr))),
  synth_group_rho05 = sd(survdiff(Surv(ti, st) ~ grp + strata(ctr), rho = 0.5))
)
# print(survfit) medians (survmean's rule) on small random cohorts with ties and exact 0.5 plateaus
set.seed(11)
cases <- list()
for (i in 1:40) {
  n <- sample(3:16, 1)
  tm <- sample(1:8, n, TRUE); ev <- rbinom(n, 1, 0.6)
  if (i == 1) { tm <- c(5, 6, 7); ev <- c(0, 1, 0) }
  if (i == 2) { tm <- c(5, 6, 7, 8); ev <- c(0, 1, 0, 0) }
  if (i == 3) { tm <- c(1, 2, 3, 4); ev <- c(1, 1, 1, 1) }
  if (sum(ev) == 0) ev[1] <- 1
  r <- list(time = tm, status = ev)
  for (ct in c("log", "log-log", "plain")) {
    tab <- summary(survfit(Surv(tm, ev) ~ 1, conf.type = ct))$table
    r[[ct]] <- unname(tab[c("median", "0.95LCL", "0.95UCL")])
  }
  cases[[i]] <- r
}
out$median_cases <- cases

# fractional case weights: R uses the infinitesimal-jackknife variance (std.err on the S scale, logse = FALSE)
fw <- function(time, status, w) {
  r <- list(time = time, status = status, weights = w)
  for (ct in c("log", "log-log", "plain")) {
    f <- survfit(Surv(time, status) ~ 1, weights = w, conf.type = ct)
    tab <- summary(f)$table
    s <- summary(f, times = c(100, 300, 500), extend = TRUE)
    r[[ct]] <- list(logse = f$logse, surv = f$surv, std_err_s = f$std.err, lower = f$lower, upper = f$upper,
                    median = unname(tab[c("median", "0.95LCL", "0.95UCL")]), at_std_err = s$std.err)
  }
  r
}
out$frac_weights_lung <- fw(lung$time, lung$status == 2, rep(c(0.5, 1.5), 114))
set.seed(3)
tt <- ceiling(rexp(150, 1 / 300) / 10) * 10; cc <- runif(150, 0, 900)
out$frac_weights_synth <- fw(pmin(tt, cc), as.integer(tt <= cc), round(runif(150, 0.2, 3), 3))

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/reference/survival_km.json")
