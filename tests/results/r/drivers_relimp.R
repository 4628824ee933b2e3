# Reference values for workbench.drivers.relative_importance / standardized_regression.
#
# relaimpo is not installable here, so LMG is computed in R from first principles: the R^2 of every
# subset of regressors is fitted with base lm(), and the Shapley (LMG) value is the average over all
# p! orderings of each regressor's R^2 gain (written out by brute force over permutations).
# Johnson's (2000) relative weights are computed from the eigen-decomposition of the correlation
# matrix. The weighted regression uses survey::svyglm (linearisation SEs).
#
# Run from the project root:   Rscript tests/results/r/drivers_relimp.R
# Writes (under tests/results/):
#   drivers_relimp_data_{mtcars,swiss,boston}.csv  the data sets (full precision)
#   drivers_relimp_subsets.csv    data set, bitmask, subset (names joined by '+'), r2 (p <= 6 only)
#   drivers_relimp_reference.csv  data set, driver, lmg, relative_weight
#   drivers_svyglm_reference.csv  weighted regression on swiss (weights 1 + row %% 3)
#   drivers_relimp.meta.json      R version, date
suppressPackageStartupMessages({library(MASS); library(survey)})
out <- file.path("tests", "results")
options(digits = 17)

sets <- list(
  mtcars = list(data = mtcars[, c("mpg", "am", "vs", "cyl")], y = "mpg"),
  swiss  = list(data = swiss, y = "Fertility"),
  boston = list(data = Boston, y = "medv")
)

perms <- function(v) {
  if (length(v) <= 1) return(list(v))
  out <- list()
  for (i in seq_along(v)) for (p in perms(v[-i])) out[[length(out) + 1]] <- c(v[i], p)
  out
}

sub_rows <- list(); ref_rows <- list()
for (name in names(sets)) {
  d <- sets[[name]]$data; y <- sets[[name]]$y
  xs <- setdiff(names(d), y); p <- length(xs)
  write.csv(d, file.path(out, sprintf("drivers_relimp_data_%s.csv", name)), row.names = FALSE)
  # R^2 of every subset, keyed by bitmask (bit i-1 = xs[i])
  r2 <- numeric(2^p)
  for (mask in 1:(2^p - 1)) {
    sel <- xs[bitwAnd(mask, 2^(0:(p - 1))) > 0]
    f <- reformulate(sel, response = y)
    r2[mask + 1] <- summary(lm(f, data = d))$r.squared
  }
  if (p <= 6) sub_rows[[name]] <- data.frame(
    data = name, mask = 0:(2^p - 1),
    subset = sapply(0:(2^p - 1), function(m) paste(xs[bitwAnd(m, 2^(0:(p - 1))) > 0], collapse = "+")),
    r2 = r2)
  # LMG: brute force over orderings when p is small, Shapley subset formula otherwise
  lmg <- numeric(p)
  if (p <= 6) {
    ords <- perms(seq_len(p))
    for (o in ords) {
      m <- 0
      for (j in o) { m2 <- m + 2^(j - 1); lmg[j] <- lmg[j] + r2[m2 + 1] - r2[m + 1]; m <- m2 }
    }
    lmg <- lmg / length(ords)
  } else {
    for (j in seq_len(p)) for (m in 0:(2^p - 1)) {
      if (bitwAnd(m, 2^(j - 1)) == 0) {
        s <- sum(bitwAnd(m, 2^(0:(p - 1))) > 0)
        lmg[j] <- lmg[j] + factorial(s) * factorial(p - s - 1) / factorial(p) *
          (r2[m + 2^(j - 1) + 1] - r2[m + 1])
      }
    }
  }
  # Johnson's relative weights
  R <- cor(d[, c(y, xs)]); Rxx <- R[-1, -1]; rxy <- R[-1, 1]
  e <- eigen(Rxx, symmetric = TRUE)
  Lam <- e$vectors %*% diag(sqrt(e$values)) %*% t(e$vectors)
  beta <- solve(Lam, rxy)
  rw <- as.vector((Lam^2) %*% (beta^2))
  ref_rows[[name]] <- data.frame(data = name, driver = xs, lmg = lmg, relative_weight = rw,
                                 r2_full = r2[2^p])
}
write.csv(do.call(rbind, sub_rows), file.path(out, "drivers_relimp_subsets.csv"), row.names = FALSE)
write.csv(do.call(rbind, ref_rows), file.path(out, "drivers_relimp_reference.csv"), row.names = FALSE)

# weighted regression: survey::svyglm, with-replacement design (ids = ~1)
sw <- transform(swiss, w = 1 + (seq_len(nrow(swiss)) %% 3))
des <- svydesign(ids = ~1, weights = ~w, data = sw)
fit <- svyglm(Fertility ~ Agriculture + Examination + Education + Catholic + Infant.Mortality,
              design = des)
co <- summary(fit)$coefficients
write.csv(data.frame(driver = rownames(co), b = co[, 1], se = co[, 2], t = co[, 3], p_val = co[, 4]),
          file.path(out, "drivers_svyglm_reference.csv"), row.names = FALSE)
# unweighted lm for the same model
co <- summary(lm(Fertility ~ Agriculture + Examination + Education + Catholic + Infant.Mortality,
                 data = swiss))$coefficients
write.csv(data.frame(driver = rownames(co), b = co[, 1], se = co[, 2], t = co[, 3], p_val = co[, 4]),
          file.path(out, "drivers_lm_reference.csv"), row.names = FALSE)

meta <- sprintf(paste0('{\n  "source": "tests/results/r/drivers_relimp.R",\n',
                       '  "r_version": "%s",\n  "survey_version": "%s",\n  "date": "%s"\n}\n'),
                R.version.string, as.character(packageVersion("survey")), format(Sys.Date()))
writeLines(meta, file.path(out, "drivers_relimp.meta.json"), sep = "")
