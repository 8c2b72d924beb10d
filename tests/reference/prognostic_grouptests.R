# Reference values for cartlens.stats.tests (R stats: wilcox.test, kruskal.test, chisq.test, fisher.test,
# quantile type 7).  Regenerate with: Rscript tests/reference/prognostic_grouptests.R (repository root).
suppressPackageStartupMessages(library(jsonlite))
set.seed(20261122)
two <- list(
  list(name = "normal_15_20", x = round(rnorm(15, 0, 1), 6), y = round(rnorm(20, 1, 1), 6)),
  list(name = "ties_40_35", x = sample(1:12, 40, TRUE), y = sample(3:15, 35, TRUE)),
  list(name = "skewed_60_80", x = round(rlnorm(60, 5, 1), 1), y = round(rlnorm(80, 5.3, 1.2), 1)),
  list(name = "small_ties_6_7", x = c(1, 2, 2, 3, 5, 8), y = c(2, 4, 4, 6, 7, 9, 9))
)
for (i in seq_along(two)) {
  d <- two[[i]]
  a <- suppressWarnings(wilcox.test(d$x, d$y, exact = FALSE, correct = TRUE))
  b <- suppressWarnings(wilcox.test(d$x, d$y))
  k <- kruskal.test(list(d$x, d$y))
  two[[i]]$W <- unname(a$statistic); two[[i]]$p_normal_cc <- a$p.value; two[[i]]$p_default <- b$p.value
  two[[i]]$kruskal <- unname(k$statistic); two[[i]]$kruskal_p <- k$p.value
  two[[i]]$quantiles_x <- unname(quantile(d$x, c(0.25, 0.5, 0.75)))
}
g3 <- list(value = round(c(rnorm(12, 1), rnorm(15, 1.5), rnorm(9, 0.3)), 3), group = rep(c("a", "b", "c"), c(12, 15, 9)))
k3 <- kruskal.test(g3$value, factor(g3$group))
g3$kruskal <- unname(k3$statistic); g3$kruskal_p <- k3$p.value; g3$df <- unname(k3$parameter)
g3$medians <- unname(tapply(g3$value, g3$group, median))
g3$q1 <- unname(tapply(g3$value, g3$group, quantile, 0.25)); g3$q3 <- unname(tapply(g3$value, g3$group, quantile, 0.75))

tables <- list(
  list(name = "2x2_spec", t = matrix(c(3, 11, 9, 4), 2)),
  list(name = "2x3_spec", t = matrix(c(3, 12, 7, 5, 10, 4), 2)),
  list(name = "3x3_n60", t = matrix(c(8, 3, 9, 5, 10, 2, 7, 6, 10), 3)),
  list(name = "3x4_n150", t = matrix(c(15, 9, 20, 12, 8, 14, 5, 11, 16, 13, 17, 10), 3)),
  list(name = "4x4_sparse", t = matrix(c(2, 0, 1, 5, 1, 3, 0, 2, 4, 1, 2, 0, 0, 2, 3, 1), 4)),
  list(name = "2x5_n90", t = matrix(c(10, 8, 12, 6, 7, 11, 9, 9, 5, 13), 2))
)
for (i in seq_along(tables)) {
  m <- tables[[i]]$t
  cs <- suppressWarnings(chisq.test(m, correct = FALSE))
  tables[[i]]$chisq <- unname(cs$statistic); tables[[i]]$chisq_p <- cs$p.value; tables[[i]]$df <- unname(cs$parameter)
  tables[[i]]$fisher_p <- fisher.test(m, workspace = 2e7)$p.value
  tables[[i]]$t <- unname(m)
}
out <- list(r_version = R.version.string, two = two, three = g3, tables = tables)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, matrix = "rowmajor"), "tests/reference/prognostic_grouptests.json")
