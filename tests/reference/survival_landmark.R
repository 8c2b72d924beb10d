# Landmark analysis of overall survival by complete response on survival::myeloid (spec survival_stats.md §2.6).
# Landmark L = 100 days: keep subjects alive and under follow-up after L (futime > L), classify by CR at L
# (crtime <= L), reset time to futime - L, then KM and log-rank from L.
# Regenerate with:  Rscript tests/reference/survival_landmark.R   (the test suite never needs R)
suppressMessages({library(survival); library(jsonlite)})
L <- 100
m <- myeloid
keep <- m$futime > L
lm <- m[keep, ]
lm$cr <- !is.na(lm$crtime) & lm$crtime <= L
lm$t <- lm$futime - L
sd <- survdiff(Surv(t, death) ~ cr, lm)
f <- survfit(Surv(t, death) ~ cr, lm)
tab <- summary(f)$table
s <- summary(f, times = c(365, 730), extend = TRUE)
out <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")), landmark = L,
            futime = m$futime, death = m$death, crtime = m$crtime,
            n_kept = nrow(lm), n_excluded = sum(!keep), events_after = sum(lm$death), n_cr = sum(lm$cr),
            chisq = sd$chisq, p = pchisq(sd$chisq, 1, lower.tail = FALSE),
            median = unname(tab[, "median"]), surv_at = s$surv, strata_at = as.character(s$strata))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/reference/survival_landmark.json")
