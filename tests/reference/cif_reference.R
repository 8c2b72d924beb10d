# Reference for cartlens.failure.cif.cumulative_incidence (Aalen-Johansen).
# Regenerate with: Rscript tests/reference/cif_reference.R   (the test suite itself never needs R)
suppressPackageStartupMessages({library(survival); library(jsonlite)})
set.seed(1145)
n <- 200
time <- round(rexp(n, 1 / 300))                      # integer days, with ties
status <- sample(0:2, n, replace = TRUE, prob = c(0.4, 0.4, 0.2))
fit <- survfit(Surv(time, factor(status, 0:2)) ~ 1)
times <- c(30, 90, 180, 365, 730)
s <- summary(fit, times = times, extend = TRUE)
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            call = "survfit(Surv(time, factor(status, 0:2)) ~ 1); summary(fit, times = c(30, 90, 180, 365, 730))",
            time = time, status = status, times = times,
            cif1 = unname(s$pstate[, 2]), cif2 = unname(s$pstate[, 3]))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), "tests/reference/cif_reference.json")
