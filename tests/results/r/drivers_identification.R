# Reference values for lavaan's identification defaults in workbench.drivers.fit_sem, computed
# with R lavaan (sem() defaults): auto.fix.single (a factor with one indicator: the indicator's
# residual variance fixed to 0, its loading to 1, so the factor equals the indicator), the
# error lavaan raises for a factor measured by itself ("X =~ X"), and the optimum of a small
# sample with almost collinear constructs, which workbench must reach instead of failing.
#
# Run from the project root:   Rscript tests/results/r/drivers_identification.R
# Reads the committed data sets (so the references are tied to files in the repository):
#   drivers_lavaan_data_holzinger.csv  HolzingerSwineford1939 (written by drivers_lavaan.R)
#   drivers_fiml_data_cx.csv           simulated CX survey with "don't know" answers and weights
#                                      (written by drivers_fiml.R)
#   drivers_identification_data_collinear.csv
#                                      120 respondents of a CX model whose four driver constructs
#                                      correlate 0.9 (simulate_cx(n = 120, seed = 21, r = 0.9) of
#                                      tests/test_drivers.py, rounded to 4 decimals); semopy's
#                                      SLSQP stops beyond a ridge there, and scoring from that
#                                      point never converged
# Writes (all under tests/results/):
#   drivers_identification_estimates.csv  parameterEstimates(fit, standardized = TRUE) per model
#   drivers_identification_fit.csv        fitMeasures(fit) per model (plus "max.gradient")
#   drivers_identification_errors.csv     the error message lavaan gives for each invalid model
#   drivers_identification.meta.json      R / lavaan versions and the date of the run
suppressPackageStartupMessages(library(lavaan))
out <- file.path("tests", "results")
options(digits = 17)

hs <- read.csv(file.path(out, "drivers_lavaan_data_holzinger.csv"))
cx <- read.csv(file.path(out, "drivers_fiml_data_cx.csv"))
collinear <- read.csv(file.path(out, "drivers_identification_data_collinear.csv"))

CX_SINGLE <- '
  PRD =~ prd1 + prd2 + prd3
  SRV =~ srv1 + srv2 + srv3
  VAL =~ val1 + val2 + val3
  DIG =~ dig1 + dig2 + dig3
  SAT =~ sat1 + sat2 + sat3
  LOY =~ nps
  SAT ~ PRD + SRV + VAL + DIG
  LOY ~ SAT + VAL
'

CX_MODEL <- '
  PRD =~ prd1 + prd2 + prd3
  SRV =~ srv1 + srv2 + srv3
  VAL =~ val1 + val2 + val3
  DIG =~ dig1 + dig2 + dig3
  SAT =~ sat1 + sat2 + sat3
  SAT ~ PRD + SRV + VAL + DIG
  nps ~ SAT
'

models <- list(
  # three-factor CFA in which one factor has a single indicator (exogenous)
  hs_single_cfa = list(data = hs, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7
  '),
  # the single-indicator factor as an outcome of two latent predictors
  hs_single_outcome = list(data = hs, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7
    textual ~ visual
    speed ~ visual + textual
  '),
  # two single-indicator factors, one of them a predictor
  hs_single_predictor = list(data = hs, syntax = '
    visual  =~ x1 + x2 + x3
    speed   =~ x7
    memory  =~ x9
    visual ~ speed
    memory ~ visual + speed
  '),
  # a single latent indicator: the variance of "visual" (its disturbance) is fixed to 0
  hs_single_latent_indicator = list(data = hs, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    h =~ visual
    textual ~ h
  '),
  # a residual variance written by the user (reliability correction) is kept, not set to 0
  hs_single_user_variance = list(data = hs, syntax = '
    visual  =~ x1 + x2 + x3
    speed   =~ x7
    x7 ~~ 0.3*x7
    visual ~ speed
  '),
  # the CX model with loyalty as a one-item factor: listwise, weighted, FIML
  cx_single = list(data = cx, syntax = CX_SINGLE),
  cx_single_weighted = list(data = cx, syntax = CX_SINGLE, weights = "w"),
  cx_single_fiml = list(data = cx, syntax = CX_SINGLE, missing = "ml"),
  # almost collinear driver constructs in a small sample: lavaan converges from its start values
  cx_collinear = list(data = collinear, syntax = CX_MODEL),
  cx_collinear_weighted = list(data = collinear, syntax = CX_MODEL, weights = "w")
)

est_all <- list(); fit_all <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- sem(m$syntax, data = m$data, sampling.weights = m$weights,
             missing = if (is.null(m$missing)) "listwise" else m$missing)
  stopifnot(lavInspect(fit, "converged"))
  pe <- parameterEstimates(fit, standardized = TRUE)
  if (!"label" %in% names(pe)) pe$label <- ""
  pe$model <- name
  est_all[[name]] <- pe[, c("model", "lhs", "op", "rhs", "label", "est", "se", "z", "pvalue",
                            "ci.lower", "ci.upper", "std.lv", "std.all")]
  fm <- fitMeasures(fit)
  fit_all[[name]] <- data.frame(model = name, measure = c(names(fm), "max.gradient"),
                                value = c(as.numeric(fm), max(abs(lavInspect(fit, "gradient")))))
}
write.csv(do.call(rbind, est_all), file.path(out, "drivers_identification_estimates.csv"),
          row.names = FALSE)
write.csv(do.call(rbind, fit_all), file.path(out, "drivers_identification_fit.csv"),
          row.names = FALSE)

# models lavaan refuses, with its message (the test checks that ours says the same thing)
invalid <- c(
  observed_by_itself = 'visual =~ x1 + x2 + x3\nx1 =~ x1',
  factor_by_itself = 'visual =~ x1 + x2 + visual',
  complaints_by_itself = 'Complaints =~ Complaints'
)
err <- data.frame(model = names(invalid), syntax = unname(invalid), message = NA_character_)
for (i in seq_along(invalid)) {
  msg <- tryCatch({ sem(invalid[[i]], data = hs); "" },
                  error = function(e) conditionMessage(e))
  err$message[i] <- trimws(msg)
}
stopifnot(all(nzchar(err$message)))
write.csv(err, file.path(out, "drivers_identification_errors.csv"), row.names = FALSE)

meta <- sprintf(paste0('{\n  "source": "tests/results/r/drivers_identification.R",\n',
                       '  "r_version": "%s",\n  "lavaan_version": "%s",\n  "date": "%s"\n}\n'),
                R.version.string, as.character(packageVersion("lavaan")), format(Sys.Date()))
writeLines(meta, file.path(out, "drivers_identification.meta.json"), sep = "")
