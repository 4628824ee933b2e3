# Reference values for workbench.drivers.fit_sem, computed with R lavaan (ML, default options).
#
# Run from the project root:   Rscript tests/results/r/drivers_lavaan.R
# Writes (all under tests/results/):
#   drivers_lavaan_estimates.csv   parameterEstimates(fit, standardized = TRUE), one block per model
#   drivers_lavaan_fit.csv         fitMeasures(fit) (name, value), one block per model
#   drivers_lavaan_data_<name>.csv the data sets as lavaan ships them (to check semopy's copies)
#   drivers_lavaan.meta.json       R / lavaan versions and the date of the run
suppressPackageStartupMessages(library(lavaan))
out <- file.path("tests", "results")

models <- list(
  # lavaan tutorial / Bollen (1989) political democracy model
  political_democracy = list(data = PoliticalDemocracy, weights = NULL, syntax = '
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
  '),
  # the same model with labelled paths and defined indirect / total effects (delta-method SEs)
  political_democracy_effects = list(data = PoliticalDemocracy, weights = NULL, syntax = '
    ind60 =~ x1 + x2 + x3
    dem60 =~ y1 + y2 + y3 + y4
    dem65 =~ y5 + y6 + y7 + y8
    dem60 ~ a*ind60
    dem65 ~ c*ind60 + b*dem60
    y1 ~~ y5
    y2 ~~ y4 + y6
    y3 ~~ y7
    y4 ~~ y8
    y6 ~~ y8
    ind := a*b
    tot := c + a*b
  '),
  # Holzinger & Swineford (1939) three-factor CFA (lavaan cfa() example)
  holzinger_cfa = list(data = HolzingerSwineford1939, weights = NULL, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
  '),
  # observed exogenous covariates (fixed.x) and observed outcomes (auto.cov.y)
  holzinger_mimic = list(data = HolzingerSwineford1939, weights = NULL, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    x7 ~ visual + ageyr
    x9 ~ textual + ageyr
  '),
  # observed-variable path model (covariates sex, ageyr under fixed.x)
  holzinger_path = list(data = HolzingerSwineford1939, weights = NULL, syntax = '
    x9 ~ x7 + ageyr
    x7 ~ ageyr + sex
  '),
  # second-order factor
  holzinger_second_order = list(data = HolzingerSwineford1939, weights = NULL, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
    g =~ visual + textual + speed
  '),
  # latent mediation with two observed outcomes (auto.cov.y)
  holzinger_mediation = list(data = HolzingerSwineford1939, weights = NULL, syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    textual ~ visual
    x7 ~ textual
    x8 ~ textual
  '),
  # sampling weights: point estimates = ML on the weighted covariance matrix
  holzinger_cfa_weighted = list(data = transform(HolzingerSwineford1939, w = 1 + id %% 3),
                                weights = "w", syntax = '
    visual  =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    speed   =~ x7 + x8 + x9
  ')
)

est_all <- list(); fit_all <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- if (is.null(m$weights)) sem(m$syntax, data = m$data)
         else sem(m$syntax, data = m$data, sampling.weights = m$weights)
  pe <- parameterEstimates(fit, standardized = TRUE)
  keep <- intersect(c("lhs", "op", "rhs", "label", "est", "se", "z", "pvalue", "ci.lower",
                      "ci.upper", "std.lv", "std.all"), names(pe))
  pe <- pe[, keep]
  if (!"label" %in% names(pe)) pe$label <- ""
  pe$model <- name
  est_all[[name]] <- pe[, c("model", "lhs", "op", "rhs", "label", "est", "se", "z", "pvalue",
                            "ci.lower", "ci.upper", "std.lv", "std.all")]
  fm <- fitMeasures(fit)
  fit_all[[name]] <- data.frame(model = name, measure = names(fm), value = as.numeric(fm))
}
write.csv(do.call(rbind, est_all), file.path(out, "drivers_lavaan_estimates.csv"),
          row.names = FALSE)
write.csv(do.call(rbind, fit_all), file.path(out, "drivers_lavaan_fit.csv"), row.names = FALSE)

# full-precision copies of lavaan's data sets
options(digits = 17)
write.csv(PoliticalDemocracy, file.path(out, "drivers_lavaan_data_political_democracy.csv"),
          row.names = FALSE)
write.csv(HolzingerSwineford1939, file.path(out, "drivers_lavaan_data_holzinger.csv"),
          row.names = FALSE)

meta <- sprintf(paste0('{\n  "source": "tests/results/r/drivers_lavaan.R",\n',
                       '  "r_version": "%s",\n  "lavaan_version": "%s",\n  "date": "%s"\n}\n'),
                R.version.string, as.character(packageVersion("lavaan")), format(Sys.Date()))
writeLines(meta, file.path(out, "drivers_lavaan.meta.json"), sep = "")
