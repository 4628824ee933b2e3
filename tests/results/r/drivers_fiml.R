# Reference values for workbench.drivers.fit_sem(missing = "fiml") and weighted fits, computed with
# R lavaan: full-information maximum likelihood (missing = "ml"), sampling weights (robust
# Huber-White standard errors and the Yuan-Bentler "mplus" scaled test, lavaan's defaults with
# sampling.weights), and the EM estimates of the saturated (h1) moments.
#
# Run from the project root:   Rscript tests/results/r/drivers_fiml.R
# Writes (all under tests/results/):
#   drivers_fiml_data_holzinger.csv  HolzingerSwineford1939 with values deleted completely at random
#                                    (12% per item; ageyr missing in 5 rows), weight w = 1 + id %% 3
#   drivers_fiml_data_cx.csv         a simulated CX survey (5 constructs x 3 items on 1-7, nps 0-10,
#                                    4% "don't know" per driver item, lognormal weights)
#   drivers_fiml_estimates.csv       parameterEstimates(fit, standardized = TRUE), one block per model
#   drivers_fiml_fit.csv             fitMeasures(fit), one block per model
#   drivers_fiml_std.csv             standardizedSolution() of the structural paths and the defined
#                                    total effects on nps (est.std with delta-method se), with the
#                                    unstandardised est and se of the same rows
#   drivers_fiml_h1.csv              EM means and covariances of the saturated model (model, row, col, value;
#                                    row "mean" holds the means)
#   drivers_fiml.meta.json           R / lavaan versions and the date of the run
# lavaan's default optimiser settings (nlminb); its largest gradient element at the optimum is
# written to drivers_fiml_fit.csv as measure "max.gradient" (about 1e-6 or less), so estimates are
# exact to roughly 1e-5 — the tests compare to 1e-4 or looser.
suppressPackageStartupMessages(library(lavaan))
out <- file.path("tests", "results")
options(digits = 17)

# --- Holzinger & Swineford with missing values ------------------------------------------------
set.seed(20261123)
hs <- HolzingerSwineford1939[, c("id", "sex", "ageyr", paste0("x", 1:9))]
for (v in paste0("x", 1:9)) hs[[v]][runif(nrow(hs)) < 0.12] <- NA
hs$ageyr <- as.numeric(hs$ageyr)
hs$ageyr[c(3, 50, 120, 200, 280)] <- NA
hs$w <- 1 + hs$id %% 3
write.csv(hs, file.path(out, "drivers_fiml_data_holzinger.csv"), row.names = FALSE, na = "")

# --- a simulated CX survey ------------------------------------------------------------------------
set.seed(7)
n <- 1200
Phi <- matrix(c(1, .50, .45, .40,
                .50, 1, .45, .50,
                .45, .45, 1, .35,
                .40, .50, .35, 1), 4, 4)
eta <- matrix(rnorm(n * 4), n, 4) %*% chol(Phi)
g <- c(.35, .30, .20, .10)
sat <- eta %*% g + rnorm(n, sd = sqrt(1 - drop(t(g) %*% Phi %*% g)))
loy <- .6 * sat + .2 * eta[, 3] + rnorm(n, sd = .69)
cuts7 <- qnorm(c(.03, .08, .17, .33, .58, .83))
item <- function(f, lam) findInterval(lam * f + sqrt(1 - lam^2) * rnorm(n), cuts7) + 1
lams <- list(prd = c(.85, .80, .75), srv = c(.82, .78, .72), val = c(.88, .80, .74),
             dig = c(.84, .80, .70), sat = c(.90, .85, .80))
fac <- list(prd = eta[, 1], srv = eta[, 2], val = eta[, 3], dig = eta[, 4], sat = drop(sat))
cx <- data.frame(row = seq_len(n))
for (k in names(lams)) for (j in 1:3) cx[[paste0(k, j)]] <- item(fac[[k]], lams[[k]][j])
cx$nps <- findInterval(drop(loy) / sd(drop(loy)),
                       qnorm(c(.02, .03, .05, .08, .12, .19, .27, .44, .65, .80)))
for (v in grep("^(prd|srv|val|dig)", names(cx), value = TRUE)) cx[[v]][runif(n) < 0.04] <- NA
cx$w <- round(exp(rnorm(n, 0, 0.45)), 6)
write.csv(cx, file.path(out, "drivers_fiml_data_cx.csv"), row.names = FALSE, na = "")

HS_CFA <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
'
HS_MIMIC <- '
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  x7 ~ visual + ageyr
  x9 ~ textual + ageyr
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
models <- list(
  hs_cfa_fiml           = list(syntax = HS_CFA, data = hs, weights = NULL, missing = "ml"),
  hs_cfa_fiml_weighted  = list(syntax = HS_CFA, data = hs, weights = "w", missing = "ml"),
  hs_mimic_fiml         = list(syntax = HS_MIMIC, data = hs, weights = NULL, missing = "ml"),
  cx_fiml               = list(syntax = CX, data = cx, weights = NULL, missing = "ml"),
  cx_fiml_weighted      = list(syntax = CX, data = cx, weights = "w", missing = "ml"),
  cx_listwise_weighted  = list(syntax = CX, data = cx, weights = "w", missing = "listwise")
)

# the CX model with its indirect / total effects on nps written out (for the standardised effects
# and their delta-method standard errors: standardizedSolution)
CX_EFFECTS <- '
  PRD =~ prd1 + prd2 + prd3
  SRV =~ srv1 + srv2 + srv3
  VAL =~ val1 + val2 + val3
  DIG =~ dig1 + dig2 + dig3
  SAT =~ sat1 + sat2 + sat3
  SAT ~ g1*PRD + g2*SRV + g3*VAL + g4*DIG
  nps ~ b*SAT
  PRD_nps := g1*b
  SRV_nps := g2*b
  VAL_nps := g3*b
  DIG_nps := g4*b
'
std_all <- list()
for (name in c("cx_fiml", "cx_fiml_weighted")) {
  fit <- if (name == "cx_fiml") sem(CX_EFFECTS, data = cx, missing = "ml")
         else sem(CX_EFFECTS, data = cx, missing = "ml", sampling.weights = "w")
  ss <- standardizedSolution(fit, type = "std.all")
  ss <- ss[ss$op %in% c("~", ":="), c("lhs", "op", "rhs", "label", "est.std", "se")]
  pe <- parameterEstimates(fit)
  ss$est <- pe$est[match(paste(ss$lhs, ss$op, ss$rhs), paste(pe$lhs, pe$op, pe$rhs))]
  ss$est.se <- pe$se[match(paste(ss$lhs, ss$op, ss$rhs), paste(pe$lhs, pe$op, pe$rhs))]
  ss$model <- name
  std_all[[name]] <- ss
}
write.csv(do.call(rbind, std_all), file.path(out, "drivers_fiml_std.csv"), row.names = FALSE)

est_all <- list(); fit_all <- list(); h1_all <- list()
for (name in names(models)) {
  m <- models[[name]]
  fit <- suppressWarnings(
    if (is.null(m$weights)) sem(m$syntax, data = m$data, missing = m$missing)
    else sem(m$syntax, data = m$data, missing = m$missing, sampling.weights = m$weights))
  if (!lavInspect(fit, "converged")) stop(name, ": not converged")
  pe <- parameterEstimates(fit, standardized = TRUE)
  if (!"label" %in% names(pe)) pe$label <- ""
  pe$model <- name
  est_all[[name]] <- pe[, c("model", "lhs", "op", "rhs", "label", "est", "se", "z", "pvalue",
                            "ci.lower", "ci.upper", "std.all")]
  fm <- fitMeasures(fit)
  fit_all[[name]] <- data.frame(model = name, measure = c(names(fm), "max.gradient", "options.se", "options.test"),
                                value = c(as.numeric(fm), max(abs(lavInspect(fit, "gradient"))), NA, NA),
                                note = c(rep("", length(fm) + 1), lavInspect(fit, "options")$se,
                                         lavInspect(fit, "options")$test[1]))
  if (m$missing == "ml") {
    h1 <- lavInspect(fit, "h1")
    S <- h1$cov; mu <- h1$mean
    rows <- expand.grid(row = rownames(S), col = colnames(S), stringsAsFactors = FALSE)
    rows$value <- as.numeric(S)
    h1_all[[name]] <- rbind(data.frame(model = name, row = "mean", col = names(mu),
                                       value = as.numeric(mu)),
                            data.frame(model = name, rows))
  }
}
write.csv(do.call(rbind, est_all), file.path(out, "drivers_fiml_estimates.csv"), row.names = FALSE)
write.csv(do.call(rbind, fit_all), file.path(out, "drivers_fiml_fit.csv"), row.names = FALSE)
write.csv(do.call(rbind, h1_all), file.path(out, "drivers_fiml_h1.csv"), row.names = FALSE)

meta <- sprintf(paste0('{\n  "source": "tests/results/r/drivers_fiml.R",\n',
                       '  "r_version": "%s",\n  "lavaan_version": "%s",\n  "date": "%s",\n',
                       '  "note": "sem(..., missing = \\"ml\\" or \\"listwise\\", sampling.weights = \\"w\\" ',
                       'where weighted), lavaan default optimiser settings"\n}\n'),
                R.version.string, as.character(packageVersion("lavaan")), format(Sys.Date()))
writeLines(meta, file.path(out, "drivers_fiml.meta.json"), sep = "")
