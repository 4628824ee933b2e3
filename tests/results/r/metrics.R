# Reference values for workbench.metrics (tests/test_metrics.py).
#
# Run from anywhere:  Rscript tests/results/r/metrics.R
# Writes (next to this script's parent folder, i.e. tests/results/):
#   metrics_data.csv        the seeded test data set (2,000 respondents, NaNs, a few zero weights)
#   metrics_reference.csv   estimates, SEs and 95% CIs from the survey package
#   metrics_compare.csv     differences between domains (svyby(covmat=TRUE) + svycontrast)
#
# Design: with-replacement, one stage, no strata: svydesign(ids = ~1, weights = ~w).
# Unweighted = svydesign(ids = ~1, data = d) (all weights 1).
# Groups are domains of the full design (svyby / subset keep every row of the design).
# NPS = 100 * (P - D) by svycontrast() on svymean(~prom + det).
# Top box / bottom box = svymean() of a 0/1 indicator; mean score = svymean().
# CIs are confint() of the svystat, which uses the normal quantile (df = Inf).
# n_eff is Kish's (sum w)^2 / sum(w^2) over the non-missing domain rows: it is computed from its
# definition here (the survey package has no function for it), so it is a cross-check only.

suppressMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- normalizePath(file.path(here, ".."))

# ---------------------------------------------------------------- data
set.seed(20240611)
n <- 2000
wave <- sample(1:3, n, replace = TRUE, prob = c(0.3, 0.33, 0.37))
segment <- sample(c("A", "B", "C", "D"), n, replace = TRUE, prob = c(0.45, 0.3, 0.2, 0.05))
lat <- rnorm(n) + 0.25 * (wave - 2) + c(A = 0.3, B = 0, C = -0.4, D = 0.1)[segment]
nps <- pmin(10, pmax(0, round(7.2 + 2.1 * lat + rnorm(n, sd = 0.8))))
csat <- pmin(5, pmax(1, round(3.7 + 0.9 * lat + rnorm(n, sd = 0.6))))
ces <- pmin(7, pmax(1, round(3.2 - 1.1 * lat + rnorm(n, sd = 0.9))))
nps[sample(n, 90)] <- NA
csat[sample(n, 60)] <- NA
ces[sample(n, 140)] <- NA
w <- exp(rnorm(n, sd = 0.45)) * c(A = 0.8, B = 1.1, C = 1.3, D = 1.6)[segment]
w[sample(n, 6)] <- 0
d <- data.frame(id = seq_len(n), wave = wave, segment = segment, nps = nps, csat = csat,
                ces = ces, w = w)

f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
write_csv <- function(df, path, header) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], f17)
  con <- file(path, "w")
  writeLines(paste0("# ", header), con)
  write.csv(df, con, row.names = FALSE, na = "", quote = FALSE)
  close(con)
}
prov <- c(
  paste0("source: tests/results/r/metrics.R; ", R.version.string, "; survey ",
         packageVersion("survey"), "; generated ", format(Sys.Date())),
  "design: svydesign(ids=~1, weights=~w) (weighted) or svydesign(ids=~1) (unweighted)")

# data file keeps 17 significant digits for the weights
dd <- d
dd$w <- f17(dd$w)
con <- file(file.path(out_dir, "metrics_data.csv"), "w")
writeLines(paste0("# ", c(prov[1], "seeded test data set: set.seed(20240611); see the script")), con)
write.csv(dd, con, row.names = FALSE, na = "", quote = FALSE)
close(con)
d$w <- as.numeric(dd$w)  # use exactly the values written to the file

# indicators (NA where the score is missing)
d$prom <- as.numeric(d$nps >= 9)
d$pas <- as.numeric(d$nps >= 7 & d$nps <= 8)
d$det <- as.numeric(d$nps <= 6)
d$csat_top2 <- as.numeric(d$csat >= 4)
d$csat_bot2 <- as.numeric(d$csat <= 2)
d$ces_top3 <- as.numeric(d$ces >= 5)
d$ces_bot2 <- as.numeric(d$ces <= 2)
d$wave_f <- factor(d$wave)
d$segment_f <- factor(d$segment)

designs <- list(
  weighted = svydesign(ids = ~1, weights = ~w, data = d),
  unweighted = suppressWarnings(svydesign(ids = ~1, data = d)))
wcol <- list(weighted = d$w, unweighted = rep(1, n))

# one estimate: NPS through svycontrast, other metrics through svymean of a variable
estimate <- function(des, metric, var) {
  if (metric == "nps") {
    m <- svymean(~prom + det, des, na.rm = TRUE)
    s <- svymean(~prom + pas + det, des, na.rm = TRUE)
    e <- svycontrast(m, c(prom = 100, det = -100))
    # cross-check: the same number as the mean of 100 * (prom - det)
    chk <- svymean(~I(100 * (prom - det)), des, na.rm = TRUE)
    stopifnot(isTRUE(all.equal(as.numeric(coef(e)), as.numeric(coef(chk)), tolerance = 1e-12)),
              isTRUE(all.equal(as.numeric(SE(e)), as.numeric(SE(chk)), tolerance = 1e-12)))
    shares <- as.numeric(coef(s))
  } else {
    e <- svymean(as.formula(paste0("~", var)), des, na.rm = TRUE)
    shares <- c(NA, NA, NA)
  }
  ci <- confint(e, level = 0.95)
  c(est = as.numeric(coef(e)), se = as.numeric(SE(e)), ci_low = ci[1, 1], ci_high = ci[1, 2],
    promoters = shares[1], passives = shares[2], detractors = shares[3])
}

specs <- list(
  list(metric = "nps", score = "nps", var = NA),
  list(metric = "top_box", score = "csat", var = "csat_top2"),       # top = 2, scale_max = 5
  list(metric = "bottom_box", score = "csat", var = "csat_bot2"),    # bottom = 2, scale_min = 1
  list(metric = "top_box", score = "ces", var = "ces_top3"),         # top = 3, scale_max = 7
  list(metric = "bottom_box", score = "ces", var = "ces_bot2"),      # bottom = 2, scale_min = 1
  list(metric = "mean_score", score = "csat", var = "csat"),
  list(metric = "mean_score", score = "ces", var = "ces"))
bys <- list(none = character(0), wave = "wave", wave_segment = c("wave", "segment"))

rows <- list()
for (wt in names(designs)) {
  des <- designs[[wt]]
  for (sp in specs) {
    for (bn in names(bys)) {
      by <- bys[[bn]]
      keys <- if (length(by)) unique(d[by]) else data.frame(row.names = 1)
      if (length(by)) keys <- keys[do.call(order, keys), , drop = FALSE]
      for (k in seq_len(nrow(keys))) {
        dom <- rep(TRUE, n)
        for (b in by) dom <- dom & d[[b]] == keys[[b]][k]
        # subset() keeps the full design: domain estimation
        sub <- des[dom, ]
        e <- estimate(sub, sp$metric, sp$var)
        ok <- dom & !is.na(d[[sp$score]]) & wcol[[wt]] > 0
        ww <- wcol[[wt]][ok]
        rows[[length(rows) + 1]] <- data.frame(
          metric = sp$metric, score = sp$score, weighted = wt == "weighted",
          by = paste(by, collapse = "+"),
          wave = if ("wave" %in% by) keys$wave[k] else NA,
          segment = if ("segment" %in% by) keys$segment[k] else NA,
          n = sum(ok), n_eff = sum(ww)^2 / sum(ww^2),
          est = e[["est"]], se = e[["se"]], ci_low = e[["ci_low"]], ci_high = e[["ci_high"]],
          promoters = e[["promoters"]], passives = e[["passives"]],
          detractors = e[["detractors"]])
      }
    }
  }
}
ref <- do.call(rbind, rows)

# svyby gives the same domain estimates as subset(): check it for every by-table once
for (wt in names(designs)) {
  des <- designs[[wt]]
  sb <- svyby(~csat, ~wave + segment, des, svymean, na.rm = TRUE)
  r <- ref[ref$metric == "mean_score" & ref$score == "csat" & ref$by == "wave+segment" &
             ref$weighted == (wt == "weighted"), ]
  r <- r[order(r$segment, r$wave), ]
  stopifnot(isTRUE(all.equal(as.numeric(coef(sb)), r$est, tolerance = 1e-13)),
            isTRUE(all.equal(as.numeric(SE(sb)), r$se, tolerance = 1e-13)))
}

write_csv(ref, file.path(out_dir, "metrics_reference.csv"),
          c(prov, "one row per metric x weighting x grouping x group; est in points for nps, share (0-1) for boxes"))

# ---------------------------------------------------------------- comparisons
# differences between domains of one design: svyby(covmat = TRUE) then svycontrast.
cmp_rows <- list()
add_cmp <- function(wt, metric, score, by_label, by_value, between, level, reference, est1, est2, ct) {
  ci <- confint(ct, level = 0.95)
  cmp_rows[[length(cmp_rows) + 1]] <<- data.frame(
    metric = metric, score = score, weighted = wt == "weighted", by = by_label,
    by_value = by_value, between = between, level = level, reference = reference,
    est = est1, est_ref = est2, diff = as.numeric(coef(ct)), se = as.numeric(SE(ct)),
    ci_low = ci[1, 1], ci_high = ci[1, 2])
}
byvars <- function(metric, var) {
  if (metric == "nps") ~prom + det else as.formula(paste0("~", var))
}
# contrast vector on svyby coefficients for "domain a minus domain b"
contrast_for <- function(sb, metric, a, b) {
  cn <- names(coef(sb))
  v <- setNames(numeric(length(cn)), cn)
  if (metric == "nps") {
    v[paste0(a, ":prom")] <- 100; v[paste0(a, ":det")] <- -100
    v[paste0(b, ":prom")] <- -100; v[paste0(b, ":det")] <- 100
  } else {
    v[a] <- 1; v[b] <- -1
  }
  v
}
level_est <- function(sb, metric, a) {
  cf <- coef(sb)
  if (metric == "nps") 100 * (cf[[paste0(a, ":prom")]] - cf[[paste0(a, ":det")]]) else cf[[a]]
}
cmp_specs <- list(specs[[1]], specs[[2]], specs[[6]])
for (wt in names(designs)) {
  for (sp in cmp_specs) {
    f <- byvars(sp$metric, sp$var)
    # svyby(covmat = TRUE) fails with na.rm = TRUE when rows are missing, so the non-missing rows
    # are taken first with subset(), which keeps the design's number of PSUs (domain estimation):
    # the domain SEs equal those of metrics_reference.csv (checked below).
    des <- subset(designs[[wt]], !is.na(d[[sp$score]]))
    # 1) wave on wave (previous wave), whole sample
    sb <- svyby(f, ~wave_f, des, svymean, covmat = TRUE)
    if (sp$metric != "nps") {
      r <- ref[ref$metric == sp$metric & ref$score == sp$score & ref$by == "wave" &
                 ref$weighted == (wt == "weighted"), ]
      stopifnot(isTRUE(all.equal(as.numeric(SE(sb)), r$se[order(r$wave)], tolerance = 1e-13)))
    }
    for (lv in 2:3) {
      a <- as.character(lv); b <- as.character(lv - 1)
      ct <- svycontrast(sb, contrast_for(sb, sp$metric, a, b))
      add_cmp(wt, sp$metric, sp$score, "", NA, "wave", lv, lv - 1,
              level_est(sb, sp$metric, a), level_est(sb, sp$metric, b), ct)
    }
    # 2) wave on wave within segment (domains segment x wave)
    sb <- svyby(f, ~segment_f + wave_f, des, svymean, covmat = TRUE)
    for (sg in c("A", "B", "C", "D")) for (lv in 2:3) {
      a <- paste0(sg, ".", lv); b <- paste0(sg, ".", lv - 1)
      ct <- svycontrast(sb, contrast_for(sb, sp$metric, a, b))
      add_cmp(wt, sp$metric, sp$score, "segment", sg, "wave", lv, lv - 1,
              level_est(sb, sp$metric, a), level_est(sb, sp$metric, b), ct)
    }
    # 3) segment vs rest of the sample
    for (sg in c("A", "B", "C", "D")) {
      des2 <- update(des, inseg = factor(ifelse(segment == sg, "seg", "rest")))
      sb <- svyby(f, ~inseg, des2, svymean, covmat = TRUE)
      ct <- svycontrast(sb, contrast_for(sb, sp$metric, "seg", "rest"))
      add_cmp(wt, sp$metric, sp$score, "", NA, "segment", sg, "rest",
              level_est(sb, sp$metric, "seg"), level_est(sb, sp$metric, "rest"), ct)
    }
  }
}
cmp <- do.call(rbind, cmp_rows)
write_csv(cmp, file.path(out_dir, "metrics_compare.csv"),
          c(prov, "differences level minus reference: svyby(..., covmat=TRUE) + svycontrast(); CI by confint() (normal)"))
cat("wrote", nrow(ref), "reference rows and", nrow(cmp), "comparison rows to", out_dir, "\n")

# ---------------------------------------------------------------- multiple-testing adjustment
# p.adjust() on a fixed vector (the p-values of the weighted comparisons above), for adjust_p().
p <- 2 * pnorm(-abs(cmp$diff[cmp$weighted] / cmp$se[cmp$weighted]))
padj <- data.frame(p = p, fdr_bh = p.adjust(p, "BH"), holm = p.adjust(p, "holm"),
                   bonferroni = p.adjust(p, "bonferroni"), fdr_by = p.adjust(p, "BY"))
write_csv(padj, file.path(out_dir, "metrics_padjust.csv"),
          c(paste0("source: tests/results/r/metrics.R; ", R.version.string, "; stats::p.adjust; generated ",
                   format(Sys.Date())),
            "p = two-sided normal p-values of the weighted rows of metrics_compare.csv"))
