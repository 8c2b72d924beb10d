# Reference p-values and quartiles for cartlens.report.cohort.table1 (tests/demo/test_report.py).
# Run: Rscript tests/reference/report_table1.R  (writes tests/reference/report_table1.json)
library(jsonlite)
d <- read.csv("tests/reference/report_table1_input.csv", stringsAsFactors = FALSE)
dev <- d$cohort == "development"
w <- function(x) wilcox.test(x[dev], x[!dev], exact = FALSE, correct = TRUE)$p.value
q <- function(x) unname(quantile(x, c(0.25, 0.5, 0.75), type = 7))
out <- list(
  age_p = w(d$age), mtv_p = w(d$mtv_ml), prior_lines_p = w(d$prior_lines),
  sex_chisq_p = chisq.test(table(d$sex, d$cohort), correct = FALSE)$p.value,
  sex_fisher_p = fisher.test(table(d$sex, d$cohort))$p.value,
  product_chisq_p = suppressWarnings(chisq.test(table(d$product, d$cohort), correct = FALSE)$p.value),
  stage34_fisher_p = fisher.test(table(d$stage >= 3, d$cohort))$p.value,
  age_quartiles_dev = q(d$age[dev]), age_quartiles_val = q(d$age[!dev]),
  mtv_quartiles_all = q(d$mtv_ml)
)
write_json(out, "tests/reference/report_table1.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
