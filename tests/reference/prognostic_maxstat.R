# Reference values for cartlens.stats.cutpoint (R maxstat).
# Regenerate with: Rscript tests/reference/prognostic_maxstat.R   (run from the repository root;
# the test suite itself never needs R).  Data are embedded in the JSON so the tests are self-contained.
suppressPackageStartupMessages({library(survival); library(maxstat); library(mvtnorm); library(jsonlite)})
data("DLBCL", package = "maxstat"); data("hohnloser", package = "maxstat"); data("sphase", package = "TH.data")

precise_gauss <- function(M, x, minprop, maxprop) {
  cm <- maxstat:::corrmsrs(x, minprop, maxprop)
  if (is.null(dim(cm))) return(list(p = 2 * pnorm(-M), err = 0))
  set.seed(1)
  p <- pmvnorm(lower = rep(-M, nrow(cm)), upper = rep(M, nrow(cm)), corr = cm,
               algorithm = GenzBretz(maxpts = 2e6, abseps = 1e-5, releps = 0))
  list(p = 1 - as.numeric(p), err = attr(p, "error"))
}

one_case <- function(name, time, event, x, minprop = 0.1, maxprop = 0.9, hl = TRUE, gauss = TRUE) {
  ok <- complete.cases(time, event, x); time <- time[ok]; event <- event[ok]; x <- x[ok]
  d <- data.frame(time = time, event = event, x = x)
  f <- Surv(time, event) ~ x
  base <- maxstat.test(f, data = d, smethod = "LogRank", minprop = minprop, maxprop = maxprop)
  out <- list(name = name, time = time, event = event, x = x, minprop = minprop, maxprop = maxprop,
              scores = as.numeric(exactRankTests::cscores(Surv(time, event), type = "LogRank")),
              statistic = unname(base$statistic), cutpoint = unname(base$estimate),
              cuts = as.numeric(base$cuts), stats = as.numeric(base$stats))
  out$Lau92 <- unname(maxstat.test(f, data = d, smethod = "LogRank", pmethod = "Lau92",
                                   minprop = minprop, maxprop = maxprop)$p.value)
  out$Lau94 <- unname(maxstat.test(f, data = d, smethod = "LogRank", pmethod = "Lau94",
                                   minprop = minprop, maxprop = maxprop)$p.value)
  ri <- maxstat.test(f, data = d, smethod = "LogRank", pmethod = "Lau94", iscores = TRUE,
                     minprop = minprop, maxprop = maxprop)
  out$statistic_iscores <- unname(ri$statistic); out$Lau94_iscores <- unname(ri$p.value)
  if (hl) {
    r <- maxstat.test(f, data = d, smethod = "LogRank", pmethod = "HL", minprop = minprop, maxprop = maxprop)
    out$HL <- unname(r$p.value); out$HL_statistic <- unname(r$statistic)
  }
  if (gauss) {
    set.seed(29)
    r <- maxstat.test(f, data = d, smethod = "LogRank", pmethod = "exactGauss", minprop = minprop, maxprop = maxprop)
    out$exactGauss_default <- unname(r$p.value)
    pg <- precise_gauss(out$statistic, x, minprop, maxprop)
    out$exactGauss_precise <- pg$p; out$exactGauss_precise_error <- pg$err
  }
  set.seed(29)
  out$condMC_B <- 10000
  out$condMC <- unname(maxstat.test(f, data = d, smethod = "LogRank", pmethod = "condMC", B = 10000,
                                    minprop = minprop, maxprop = maxprop)$p.value)
  out
}

set.seed(2026)
sim_n <- 200
sim <- data.frame(time = round(rexp(sim_n, 0.1) * 2) / 2, x = round(rlnorm(sim_n, 5, 1), 0))
sim$event <- rbinom(sim_n, 1, 0.7)
sim$time[sim$x > 250] <- sim$time[sim$x > 250] * 0.6
sim500 <- data.frame(time = rexp(500, 0.05), event = rbinom(500, 1, 0.6), x = round(rgamma(500, 2, 0.01)))

lung2 <- lung; lung2$event <- as.numeric(lung2$status == 2)
rot <- rotterdam
rot$rfs <- pmax(rot$recur, rot$death); rot$rfstime <- ifelse(rot$recur == 1, rot$rtime, rot$dtime)

cases <- list(
  one_case("DLBCL_MGE", DLBCL$time, DLBCL$cens, DLBCL$MGE),
  one_case("hohnloser_EF", hohnloser$month, hohnloser$cens, hohnloser$EF),
  one_case("sphase_SPF", sphase$RFS, sphase$event, sphase$SPF),
  one_case("lung_age", lung2$time, lung2$event, lung2$age, hl = FALSE),
  one_case("sim200_ties", sim$time, sim$event, sim$x),
  one_case("sim500", sim500$time, sim500$event, sim500$x, hl = FALSE),
  one_case("DLBCL_MGE_0_1", DLBCL$time, DLBCL$cens, DLBCL$MGE, minprop = 0, maxprop = 1, hl = FALSE, gauss = FALSE),
  one_case("DLBCL_MGE_25_75", DLBCL$time, DLBCL$cens, DLBCL$MGE, minprop = 0.25, maxprop = 0.75),
  one_case("rotterdam_nodes", rot$rfstime, rot$rfs, rot$nodes, hl = FALSE, gauss = FALSE)
)

fun <- list(
  pLausen92_b = c(0.5, 1, 2, 2.5, 3, 3.5),
  pLausen92 = sapply(c(0.5, 1, 2, 2.5, 3, 3.5), pLausen92, minprop = 0.1, maxprop = 0.9),
  pLausen92_25_75 = pLausen92(2.5, 0.25, 0.75),
  pLausen94_2.5_20 = pLausen94(2.5, 20, 0.25, 0.75),
  pLausen94_1.0_20 = pLausen94(1.0, 20, 0.25, 0.75),
  pLausen94_2.5_200_m = pLausen94(2.5, 200, 0.25, 0.75, m = seq(50, 150, by = 10)),
  pmaxstat_2.5_1_20_5_15 = pmaxstat(2.5, 1:20, 5:15),
  qLausen92_0.05 = qLausen92(0.05, 0.1, 0.9),
  toy_time = c(1, 2, 2, 3, 4), toy_event = c(1, 1, 1, 0, 1),
  toy_scores = as.numeric(exactRankTests::cscores(Surv(c(1, 2, 2, 3, 4), c(1, 1, 1, 0, 1)), type = "LogRank")),
  quirk_x = 1:10,
  quirk_cuts_0_1 = as.numeric(maxstat.test(Surv(c(5,3,8,1,9,2,7,4,10,6), rep(1, 10)) ~ x,
        data = data.frame(x = 1:10), smethod = "LogRank", minprop = 0, maxprop = 1)$cuts),
  quirk_cuts_01_09 = as.numeric(maxstat.test(Surv(c(5,3,8,1,9,2,7,4,10,6), rep(1, 10)) ~ x,
        data = data.frame(x = 1:10), smethod = "LogRank", minprop = 0.1, maxprop = 0.9)$cuts)
)

out <- list(r_version = R.version.string, maxstat = as.character(packageVersion("maxstat")),
            survival = as.character(packageVersion("survival")), mvtnorm = as.character(packageVersion("mvtnorm")),
            cases = cases, functions = fun)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), "tests/reference/prognostic_maxstat.json")
