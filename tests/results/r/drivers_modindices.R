# Reference values for workbench.drivers.modification_indices, computed with R lavaan:
# modindices(fit) — 1-df score tests (Lagrange multipliers) for every fixed-to-zero or fixed
# parameter in lavaan's default candidate set (lav_partable_full: cross-loadings, residual
# covariances among indicators, latent covariances, regressions among the variables of the
# structural part; fixed parameters of the model freed), expected information, ML.
#
# Run from the project root:   Rscript tests/results/r/drivers_modindices.R
# Reads the data sets committed by drivers_lavaan.R and drivers_fiml.R (tests/results/):
#   drivers_lavaan_data_holzinger.csv, drivers_lavaan_data_political_democracy.csv,
#   drivers_fiml_data_cx.csv (a simulated CX survey with 4% missing per driver item, weight w),
#   drivers_fiml_data_holzinger.csv (HolzingerSwineford1939 with 12% of each item deleted)
# Writes (all under tests/results/):
#   drivers_modindices_reference.csv  one block per model: model, lhs, op, rhs, mi, epc, sepc.lv,
#                                     sepc.all (every row modindices() returns, lavaan's order)
#   drivers_modindices.meta.json      R / lavaan versions and the date of the run
suppressPackageStartupMessages(library(lavaan))
out <- file.path("tests", "results")
options(digits = 17)

hs <- read.csv(file.path(out, "drivers_lavaan_data_holzinger.csv"))
pd <- read.csv(file.path(out, "drivers_lavaan_data_political_democracy.csv"))
cx <- read.csv(file.path(out, "drivers_fiml_data_cx.csv"))
hs_na <- read.csv(file.path(out, "drivers_fiml_data_holzinger.csv"))

HS_CFA <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
'
PD <- '
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + y2 + y3 + y4
  dem65 =~ y5 + y6 + y7 + y8
  dem60 ~ ind60
  dem65 ~ ind60 + dem60
  y1 ~~ y5
  y2 ~~ y4 + y6
  y3 ~~ y7
  y4 ~~ y8
  y6 ~~ y8
'
# equality constraints through shared labels (lavaan tutorial)
PD_EQUAL <- '
  ind60 =~ x1 + x2 + x3
  dem60 =~ y1 + a*y2 + b*y3 + c*y4
  dem65 =~ y5 + a*y6 + b*y7 + c*y8
  dem60 ~ ind60
  dem65 ~ ind60 + dem60
  y1 ~~ y5
'
CX <- '
  PRD =~ prd1 + prd2 + prd3
  SRV =~ srv1 + srv2 + srv3
  VAL =~ val1 + val2 + val3
  DIG =~ dig1 + dig2 + dig3
  SAT =~ sat1 + sat2 + sat3
  SAT ~ PRD + SRV + VAL + DIG
  nps ~ SAT
'
# observed covariates under fixed.x, observed outcomes
HS_MIMIC <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  x7 ~ visual + ageyr
  x9 ~ textual + ageyr
'
# latent mediation with observed outcomes
HS_MEDIATION <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  textual ~ visual
  x7 ~ textual
  x8 ~ textual
'
models <- list(
  holzinger_cfa       = list(syntax = HS_CFA, data = hs, weights = NULL, missing = "listwise"),
  political_democracy = list(syntax = PD, data = pd, weights = NULL, missing = "listwise"),
  political_democracy_equal = list(syntax = PD_EQUAL, data = pd, weights = NULL, missing = "listwise"),
  cx_listwise         = list(syntax = CX, data = cx, weights = NULL, missing = "listwise"),
  holzinger_mimic     = list(syntax = HS_MIMIC, data = hs, weights = NULL, missing = "listwise"),
  holzinger_mediation = list(syntax = HS_MEDIATION, data = hs, weights = NULL, missing = "listwise"),
  cx_listwise_weighted = list(syntax = CX, data = cx, weights = "w", missing = "listwise"),
  cx_fiml             = list(syntax = CX, data = cx, weights = NULL, missing = "ml"),
  cx_fiml_weighted    = list(syntax = CX, data = cx, weights = "w", missing = "ml"),
  holzinger_mimic_fiml = list(syntax = HS_MIMIC, data = hs_na, weights = NULL, missing = "ml")
)

mi_all <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- if (is.null(m$weights)) sem(m$syntax, data = m$data, missing = m$missing)
         else sem(m$syntax, data = m$data, missing = m$missing, sampling.weights = m$weights)
  if (!lavInspect(fit, "converged")) stop(name, ": not converged")
  mi <- modindices(fit)
  mi <- as.data.frame(mi)[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")]
  mi$model <- name
  mi_all[[name]] <- mi[, c("model", "lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")]
}
write.csv(do.call(rbind, mi_all), file.path(out, "drivers_modindices_reference.csv"),
          row.names = FALSE)

meta <- sprintf(paste0('{\n  "source": "tests/results/r/drivers_modindices.R",\n',
                       '  "r_version": "%s",\n  "lavaan_version": "%s",\n  "date": "%s",\n',
                       '  "note": "modindices(sem(model, data)) with default options (expected information); ',
                       'listwise unless the model name says fiml (missing = \\"ml\\"); weighted models use sampling.weights = \\"w\\""\n}\n'),
                R.version.string, as.character(packageVersion("lavaan")), format(Sys.Date()))
writeLines(meta, file.path(out, "drivers_modindices.meta.json"), sep = "")
