# Reference values for workbench.gaps.compare_groups (tests/test_gaps.py).
#
# Reads tests/results/gaps_small_customers.csv (written by gaps_reference.R) and writes
# tests/results/gaps_r_compare.csv: differences of the dimension and overall gap (P - E) between
# segments, unweighted with Welch's t.test(x_b, x_a) and weighted with
# svycontrast(svyby(..., covmat = TRUE)) of survey::svydesign(ids = ~1, weights = ~w).
# Run from the repository root:  Rscript tests/results/r/gaps_compare.R
suppressMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- dirname(here)
d <- read.csv(file.path(out_dir, "gaps_small_customers.csv"))
items <- list(dimA = c("a1", "a2", "a3"), dimB = c("b1", "b2"))

# respondent gap scores as in gaps_reference.R: items answered in both E and P, at least half
score <- list()
for (dm in names(items)) {
  its <- items[[dm]]
  E <- as.matrix(d[paste0("E_", its)]); P <- as.matrix(d[paste0("P_", its)])
  ok <- !is.na(E) & !is.na(P); E[!ok] <- NA; P[!ok] <- NA
  g <- rowMeans(P, na.rm = TRUE) - rowMeans(E, na.rm = TRUE)
  g[rowSums(ok) < ceiling(0.5 * length(its))] <- NA
  score[[dm]] <- g
}
# overall: mean of the dimension scores of E and P over dimensions present in both (= mean of gaps)
Em <- sapply(names(items), function(dm) { its <- items[[dm]]
  E <- as.matrix(d[paste0("E_", its)]); P <- as.matrix(d[paste0("P_", its)]); ok <- !is.na(E) & !is.na(P)
  E[!ok] <- NA; s <- rowMeans(E, na.rm = TRUE); s[rowSums(ok) < ceiling(0.5 * length(its))] <- NA; s })
Pm <- sapply(names(items), function(dm) { its <- items[[dm]]
  E <- as.matrix(d[paste0("E_", its)]); P <- as.matrix(d[paste0("P_", its)]); ok <- !is.na(E) & !is.na(P)
  P[!ok] <- NA; s <- rowMeans(P, na.rm = TRUE); s[rowSums(ok) < ceiling(0.5 * length(its))] <- NA; s })
okd <- !is.na(Em) & !is.na(Pm); Em[!okd] <- NA; Pm[!okd] <- NA
ov <- rowMeans(Pm, na.rm = TRUE) - rowMeans(Em, na.rm = TRUE)
ov[rowSums(okd) < ceiling(0.5 * length(items))] <- NA
score[["overall"]] <- ov

rows <- list()
add <- function(analysis, level, dimension, a, b, stats) {
  for (s in names(stats)) rows[[length(rows) + 1]] <<- data.frame(analysis = analysis, level = level,
    dimension = dimension, group_a = a, group_b = b, statistic = s, value = unname(stats[[s]]))
}
pairs <- list(c("g1", "g2"), c("g1", "g3"), c("g2", "g3"))
for (v in names(score)) {
  lev <- if (v == "overall") "overall" else "dimension"; dm <- if (v == "overall") "" else v
  x <- score[[v]]
  for (pr in pairs) {
    a <- x[d$segment == pr[1] & !is.na(x)]; b <- x[d$segment == pr[2] & !is.na(x)]
    tt <- t.test(b, a)
    add("unweighted", lev, dm, pr[1], pr[2], c(diff = mean(b) - mean(a), se = unname(tt$stderr),
      t = unname(tt$statistic), df = unname(tt$parameter), p_val = tt$p.value,
      ci_low = tt$conf.int[1], ci_high = tt$conf.int[2]))
  }
  # respondents without a score are out of the domain: subset() keeps them in the design (weight
  # 0, so N is the whole sample, as svymean(na.rm = TRUE)); svyby(covmat = TRUE) needs no NA
  d$.g <- ifelse(is.na(x), 0, x)
  des <- subset(svydesign(ids = ~1, weights = ~w, data = d), !is.na(x))
  by <- svyby(~.g, ~segment, des, svymean, covmat = TRUE)
  for (g in rownames(by)) add("weighted_group", lev, dm, g, g, c(est = unname(coef(by)[g]),
    se = unname(SE(by)[which(rownames(by) == g)])))
  for (pr in pairs) {
    cw <- setNames(rep(0, nrow(by)), rownames(by)); cw[pr[1]] <- -1; cw[pr[2]] <- 1
    ct <- svycontrast(by, cw)
    add("weighted", lev, dm, pr[1], pr[2], c(diff = unname(coef(ct)), se = unname(SE(ct))))
  }
}
res <- do.call(rbind, rows)
f <- file.path(out_dir, "gaps_r_compare.csv")
con <- file(f, "w")
writeLines(c(
  "# Reference values for workbench.gaps.compare_groups, computed by tests/results/r/gaps_compare.R",
  sprintf("# %s; survey %s; date %s", R.version.string, packageVersion("survey"), format(Sys.Date())),
  "# Data: gaps_small_customers.csv (written by gaps_reference.R)"), con)
write.csv(res, con, row.names = FALSE)
close(con)
cat("wrote", nrow(res), "reference values to", f, "\n")
