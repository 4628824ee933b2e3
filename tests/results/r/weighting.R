# Reference weights for workbench.weighting (tests/test_weighting.py).
#
# Run from anywhere:  Rscript tests/results/r/weighting.R
# Writes into tests/results/:
#   weighting_data.csv       seeded sample: 3,000 respondents, 3 raking variables, design weights
#   weighting_margins.csv    population totals (and shares) of the three variables
#   weighting_reference.csv  weights from survey::rake, calibrate(calfun = "raking") with and
#                            without bounds, and trimWeights
#
# Convergence is pushed far below the package defaults (rake: control$epsilon = 1 weight unit;
# calibrate: epsilon = 1e-7) so that the reference weights are the fixed point to ~1e-12.

suppressMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- normalizePath(file.path(here, ".."))

f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
write_csv <- function(df, path, header) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], f17)
  con <- file(path, "w")
  writeLines(paste0("# ", header), con)
  write.csv(df, con, row.names = FALSE, na = "", quote = FALSE)
  close(con)
}
prov <- paste0("source: tests/results/r/weighting.R; ", R.version.string, "; survey ",
               packageVersion("survey"), "; generated ", format(Sys.Date()))

# ---------------------------------------------------------------- data
set.seed(20240612)
n <- 3000
age_lv <- c("18-34", "35-49", "50-64", "65+")
region_lv <- c("north", "east", "south", "west", "central")
gender_lv <- c("female", "male")
age <- sample(age_lv, n, replace = TRUE, prob = c(0.18, 0.27, 0.30, 0.25))
region <- sample(region_lv, n, replace = TRUE, prob = c(0.30, 0.15, 0.20, 0.25, 0.10))
gender <- sample(gender_lv, n, replace = TRUE, prob = c(0.56, 0.44))
# design weights: regions sampled at different rates, plus some nonresponse-type variation
base_w <- c(north = 12, east = 20, south = 16, west = 14, central = 25)[region] *
  exp(rnorm(n, sd = 0.25))
d <- data.frame(id = seq_len(n), age = age, region = region, gender = gender,
                base_w = as.numeric(f17(base_w)))
write_csv(d, file.path(out_dir, "weighting_data.csv"),
          c(prov, "seeded sample: set.seed(20240612); see the script"))

pop_N <- 50000
margins <- list(
  age = setNames(c(0.27, 0.28, 0.25, 0.20) * pop_N, age_lv),
  region = setNames(c(0.22, 0.20, 0.21, 0.22, 0.15) * pop_N, region_lv),
  gender = setNames(c(0.51, 0.49) * pop_N, gender_lv))
mg <- do.call(rbind, lapply(names(margins), function(v)
  data.frame(variable = v, level = names(margins[[v]]), total = as.numeric(margins[[v]]),
             share = as.numeric(margins[[v]]) / pop_N)))
write_csv(mg, file.path(out_dir, "weighting_margins.csv"), c(prov, "population totals; share = total / 50000"))

for (v in c("age", "region", "gender")) d[[v]] <- factor(d[[v]], levels = margins[[v]] |> names())
des <- svydesign(ids = ~1, weights = ~base_w, data = d)

pop_tables <- lapply(names(margins), function(v) {
  t <- data.frame(names(margins[[v]]), as.numeric(margins[[v]]))
  names(t) <- c(v, "Freq"); t
})

# 1) rake() from the design weights to population totals
rk <- rake(des, list(~age, ~region, ~gender), pop_tables,
           control = list(maxit = 1000, epsilon = 1e-13))
w_rake <- weights(rk)

# 2) calibrate(calfun = "raking"): the same fixed point by Newton's method
pop_vec <- c(`(Intercept)` = pop_N,
             setNames(margins$age[-1], paste0("age", age_lv[-1])),
             setNames(margins$region[-1], paste0("region", region_lv[-1])),
             setNames(margins$gender[-1], paste0("gender", gender_lv[-1])))
cal <- calibrate(des, ~age + region + gender, population = pop_vec, calfun = "raking",
                 epsilon = 1e-14, maxit = 200)
w_cal <- weights(cal)
stopifnot(max(abs(w_cal / w_rake - 1)) < 1e-10)

# 3) shares, unweighted start: targets are shares x n (weights start at 1)
des1 <- suppressWarnings(svydesign(ids = ~1, data = d))
pop_tables1 <- lapply(pop_tables, function(t) { t$Freq <- t$Freq / pop_N * n; t })
rk1 <- rake(des1, list(~age, ~region, ~gender), pop_tables1,
            control = list(maxit = 1000, epsilon = 1e-13))
w_rake_unweighted <- weights(rk1)

# 4) bounded raking: g = w / base_w kept within [0.7, 1.6]
bounds <- c(0.7, 1.6)
calb <- calibrate(des, ~age + region + gender, population = pop_vec, calfun = "raking",
                  bounds = bounds, epsilon = 1e-14, maxit = 500)
w_bounded <- weights(calb)
g <- w_bounded / d$base_w
stopifnot(min(g) >= bounds[1] - 1e-12, max(g) <= bounds[2] + 1e-12,
          any(abs(g - bounds[2]) < 1e-12) || any(abs(g - bounds[1]) < 1e-12))
# the unbounded solution breaks the bounds, so they bind
stopifnot(max(w_cal / d$base_w) > bounds[2] || min(w_cal / d$base_w) < bounds[1])

# 5) trimWeights on the raked weights (a plain design carrying them)
dw <- svydesign(ids = ~1, weights = ~w, data = data.frame(d, w = w_rake))
upper <- 30; lower <- 8
w_trim <- weights(trimWeights(dw, upper = upper))
w_trim_strict <- weights(trimWeights(dw, upper = upper, strict = TRUE))
w_trim_both <- weights(trimWeights(dw, upper = upper, lower = lower))
w_trim_both_strict <- weights(trimWeights(dw, upper = upper, lower = lower, strict = TRUE))
w_trim_lower_strict <- weights(trimWeights(dw, lower = lower, strict = TRUE))
stopifnot(max(w_trim) > upper, max(w_trim_strict) <= upper)

ref <- data.frame(id = d$id, rake = w_rake, calibrate_raking = w_cal,
                  rake_unweighted = w_rake_unweighted, calibrate_bounded = w_bounded,
                  trim_upper = w_trim, trim_upper_strict = w_trim_strict,
                  trim_both = w_trim_both, trim_both_strict = w_trim_both_strict,
                  trim_lower_strict = w_trim_lower_strict)
write_csv(ref, file.path(out_dir, "weighting_reference.csv"), c(
  prov,
  "rake: rake(svydesign(ids=~1, weights=~base_w), list(~age, ~region, ~gender), totals, control=list(maxit=1000, epsilon=1e-13))",
  "calibrate_raking: calibrate(..., ~age+region+gender, calfun='raking', epsilon=1e-14)",
  "rake_unweighted: rake() from weights 1 to shares x 3000",
  "calibrate_bounded: calibrate(..., calfun='raking', bounds=c(0.7, 1.6), epsilon=1e-14)",
  "trim_*: trimWeights(svydesign(ids=~1, weights=~rake), upper=30[, lower=8][, strict=TRUE]); trim_lower_strict: lower=8 only"))
cat("max g unbounded:", max(w_cal / d$base_w), " min:", min(w_cal / d$base_w), "\n")
cat("trim: max", max(w_rake), "n>upper", sum(w_rake > upper), "n<lower", sum(w_rake < lower), "\n")
cat("wrote", nrow(ref), "rows to", out_dir, "\n")
