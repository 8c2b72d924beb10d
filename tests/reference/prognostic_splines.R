# Reference values for cartlens.stats.splines (rms rcs / lsp, Hmisc rcspline.eval).
# Regenerate with: Rscript tests/reference/prognostic_splines.R   (from the repository root).
suppressPackageStartupMessages({library(survival); library(rms); library(jsonlite)})
data("DLBCL", package = "maxstat")
lung2 <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung2$event <- as.numeric(lung2$status == 2)
lung_all <- lung; lung_all$event <- as.numeric(lung_all$status == 2)
rot <- rotterdam

knots_of <- function(x, k) as.numeric(suppressWarnings(attr(rcs(x, k), "parms")))
knot_cases <- list(
  list(name = "lung_age", x = lung_all$age, k = c(3, 4, 5, 6, 7)),
  list(name = "DLBCL_MGE_small_n", x = DLBCL$MGE, k = c(3, 4, 5)),
  list(name = "rotterdam_nodes_ties", x = rot$nodes, k = c(3, 4, 5)),
  list(name = "rotterdam_age", x = rot$age, k = c(3, 4, 5, 6, 7)),
  list(name = "few_unique", x = c(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6), k = c(4, 5))
)
for (i in seq_along(knot_cases)) {
  kc <- knot_cases[[i]]
  knot_cases[[i]]$knots <- lapply(kc$k, function(k) knots_of(kc$x, k))
}

# Fits use survival::coxph (eps 1e-9) on the rms/Hmisc basis; rms::cph stops at eps 1e-4, so its
# coefficients differ from a converged fit in the 4th-6th digit (noted in docs/stats_prognostic.md).
basis_of <- function(x, spec) {
  if (spec$type == "rcs") Hmisc::rcspline.eval(x, knots = spec$knots, inclx = TRUE)
  else cbind(x, pmax(x - spec$knot, 0))
}
fit_case <- function(spec, adjust, grid, ref) {
  B <- basis_of(lung2$age, spec); colnames(B) <- paste0("b", seq_len(ncol(B)))
  X <- cbind(B, as.matrix(lung2[, adjust, drop = FALSE]))
  f <- coxph(Surv(lung2$time, lung2$event) ~ X)
  k <- ncol(B); b <- coef(f)[1:k]; V <- vcov(f)[1:k, 1:k]
  wald <- function(idx) { bb <- b[idx]; unname(drop(t(bb) %*% solve(V[idx, idx, drop = FALSE], bb))) }
  D <- basis_of(grid, spec) - matrix(basis_of(ref, spec), length(grid), k, byrow = TRUE)
  est <- drop(D %*% b); se <- sqrt(rowSums((D %*% V) * D))
  lin <- coxph(Surv(lung2$time, lung2$event) ~ cbind(lung2$age, as.matrix(lung2[, adjust, drop = FALSE])))
  list(spec = spec, adjust = adjust, coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))),
       loglik = unname(f$loglik), linear_loglik = lin$loglik[2],
       wald_overall = wald(1:k), wald_nonlinear = wald(2:k),
       grid = grid, ref = ref, contrast = unname(est), contrast_se = unname(se),
       contrast_lower = unname(est - qnorm(0.975) * se), contrast_upper = unname(est + qnorm(0.975) * se))
}
grid <- c(40, 50, 60, 63, 70, 80)
kn <- function(k) as.numeric(attr(rcs(lung2$age, k), "parms"))
fits <- list(
  rcs4_sex = fit_case(list(type = "rcs", knots = kn(4)), "sex", grid, 63),
  rcs3 = fit_case(list(type = "rcs", knots = kn(3)), character(0), grid, 50),
  rcs5_sex_ecog = fit_case(list(type = "rcs", knots = kn(5)), c("sex", "ph.ecog"), grid, 60),
  lsp65_sex = fit_case(list(type = "lsp", knot = 65), "sex", grid, 63)
)
# the rms anova of cph (eps 1e-4) for the record
dd <- datadist(lung2); options(datadist = "dd")
cph4 <- cph(Surv(time, event) ~ rcs(age, 4) + sex, data = lung2)
fits$rcs4_sex$cph_coef <- unname(coef(cph4)); fits$rcs4_sex$cph_anova <- unname(anova(cph4)[, "Chi-Square"])

xs <- c(30, 45.35, 50, 59, 63.5, 67, 75, 90)
basis <- Hmisc::rcspline.eval(xs, knots = c(45.35, 59, 67, 75), inclx = TRUE)

out <- list(r_version = R.version.string, rms = as.character(packageVersion("rms")),
            Hmisc = as.character(packageVersion("Hmisc")), survival = as.character(packageVersion("survival")),
            lung = list(time = lung2$time, event = lung2$event, age = lung2$age, sex = lung2$sex,
                        ph_ecog = lung2$ph.ecog),
            knot_cases = knot_cases, fits = fits,
            basis_x = xs, basis_knots = c(45.35, 59, 67, 75), basis = unname(as.matrix(basis)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", matrix = "rowmajor"),
           "tests/reference/prognostic_splines.json")
