# Random cohorts (ties, heavy censoring, strata, skewed markers, times 0, float month times) with R's answers,
# for the end-to-end checks of cartlens.stats km / logrank / cox / concordance (tests/stats/test_cox_random.py).
# Regenerate with:  Rscript tests/reference/survival_random.R   (the test suite never needs R)
suppressMessages({library(survival); library(jsonlite)})
set.seed(5)
times_at <- c(0.5, 3, 6, 12, 24)
one <- function(i) {
  n <- sample(c(15, 40, 120, 400), 1)
  mtv <- rlnorm(n, 5, 1.2)                       # skewed marker, ml
  age <- round(rnorm(n, 60, 10))
  stage <- sample(1:4, n, TRUE)
  grp <- sample(c("low", "mid", "high"), n, TRUE, prob = c(0.5, 0.3, 0.2))
  ctr <- sample(paste0("C", 1:sample(1:5, 1)), n, TRUE)
  lin <- 0.0015 * mtv + 0.02 * (age - 60) + 0.2 * stage
  raw <- rexp(n, 0.05 * exp(lin - mean(lin)))
  style <- i %% 4
  tt <- switch(style + 1, round(raw), ceiling(raw * 30.4375) / 30.4375, round(raw, 1), pmax(0, floor(raw / 3) * 3))
  cc <- runif(n, 0, quantile(raw, 0.9) * ifelse(i %% 3 == 0, 0.5, 2))
  status <- as.integer(tt <= cc); time <- pmin(tt, cc)
  if (sum(status) < 3) status[1:3] <- 1L
  d <- data.frame(time, status, mtv, age, stage, grp, ctr, stringsAsFactors = FALSE)
  r <- list(data = as.list(d))
  for (ct in c("log", "log-log")) {
    f <- survfit(Surv(time, status) ~ grp, d, conf.type = ct)
    tab <- summary(f)$table
    s <- summary(f, times = times_at, extend = TRUE)
    r[[paste0("km_", ct)]] <- list(strata = sub("grp=", "", rownames(tab)), median = unname(tab[, "median"]),
      lower = unname(tab[, "0.95LCL"]), upper = unname(tab[, "0.95UCL"]), at_strata = sub("grp=", "", as.character(s$strata)),
      at_time = s$time, surv = s$surv, at_lower = s$lower, at_upper = s$upper, n_risk = s$n.risk)
  }
  r$logrank <- (function(x) list(chisq = x$chisq, p = pchisq(x$chisq, length(x$n) - 1, lower.tail = FALSE)))(
    survdiff(Surv(time, status) ~ grp, d))
  if (length(unique(ctr)) > 1) r$logrank_strata <- (function(x) list(chisq = x$chisq, p = pchisq(x$chisq, length(x$n) - 1, lower.tail = FALSE)))(
    survdiff(Surv(time, status) ~ grp + strata(ctr), d))
  fx <- function(f) list(coef = unname(coef(f)), se = unname(sqrt(diag(f$var))), loglik = f$loglik,
                         score = f$score, wald = unname(f$wald.test), concordance = unname(f$concordance[c("concordance", "std")]))
  r$cox_efron <- fx(coxph(Surv(time, status) ~ mtv + age + stage, d))
  r$cox_breslow <- fx(coxph(Surv(time, status) ~ mtv + age + stage, d, ties = "breslow"))
  if (length(unique(ctr)) > 1) r$cox_strata <- fx(coxph(Surv(time, status) ~ mtv + age + stage + strata(ctr), d))
  r$cox_factor <- fx(coxph(Surv(time, status) ~ log(mtv) + grp, d))
  r
}
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")), times_at = times_at,
            cohorts = lapply(1:24, one))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/reference/survival_random.json")
