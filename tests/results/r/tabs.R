# Reference values for workbench.tabs (tests/test_tabs.py).
#
# Run from anywhere:  Rscript tests/results/r/tabs.R
# Needs R with the survey package (Debian: apt-get install r-base-core r-cran-survey).
# Writes (into tests/results/):
#   tabs_data.csv         the seeded test data (900 respondents, 2 waves, NaNs, weights)
#   tabs_pairs.csv        column tests of one question across one banner variable (every row):
#                         prop.test(correct = FALSE) (pooled z; on effective bases when weighted),
#                         t.test (Welch), and survey's svyby(covmat = TRUE) + svycontrast (design)
#   tabs_book_tests.csv   every test of a small tab book (wave 2 reported, wave 1 previous):
#                         pairs of columns within banner groups, column vs rest of the total,
#                         column vs the same column in the previous wave; raw and adjusted p
#   tabs_book_cells.csv   the book's cells: value, letters, vs_total, vs_previous
#   tabs_book_bases.csv   unweighted, weighted and effective bases per stub and column
#   tabs_padjust.csv      p.adjust of p-value families with NAs (not-tested pairs)
#
# Definitions (as in workbench/tabs.py):
# * Design: svydesign(ids = ~1, weights = ~w) on all 900 rows (unweighted: no weights). Every
#   column is a domain of that design: subset() keeps the design (domain estimation).
# * A cell's base: respondents of the column who answered the stub; n_eff = (sum w)^2 / sum w^2.
# * Low-base rule: no test when either n_eff < 30.
# * Pooled (SPSS column proportions): prop.test(x = p * n_eff, n = n_eff, correct = FALSE), the
#   z statistic = sign(diff) * sqrt(X-squared). Means under "pooled": t.test (Welch) unweighted,
#   design-based when weighted. NPS = mean of -100 / 0 / 100 (a means test).
# * Design: svyby(~y, ~pair, subset(des, ...), svymean, covmat = TRUE) + svycontrast(a - b);
#   normal p-value.
# * Columns sharing respondents (net ab and its levels a, b) are not tested against each other.
# * vs total = the column against the rest of the reported wave (respondents not in the column);
#   vs previous = the column in wave 2 against the same column in wave 1.
# * Families for p.adjust: one stub row x one banner group x one kind of comparison.
# * Letters: a cell carries the letter of every column of its group it is significantly (adjusted
#   p < 0.05) higher than; letters A, B, ... per group in banner order.

suppressMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- normalizePath(file.path(here, ".."))

# ---------------------------------------------------------------- data
set.seed(20261203)
n <- 900
wave <- sample(1:2, n, replace = TRUE)
brand <- sample(c("a", "b", "c", "d"), n, replace = TRUE, prob = c(0.4, 0.3, 0.24, 0.06))
brand[sample(n, 20)] <- NA                      # not in the brand banner: in the rest of the total
region <- sample(c("north", "south"), n, replace = TRUE, prob = c(0.55, 0.45))
lat <- rnorm(n) + c(a = 0.25, b = 0, c = -0.3, d = 0.1)[ifelse(is.na(brand), "b", brand)] +
  0.2 * (wave - 1.5) + 0.15 * (region == "north")
plan <- ifelse(lat + rnorm(n) > 0.6, "p1", ifelse(lat + rnorm(n) > -0.4, "p2", "p3"))
plan[sample(n, 40)] <- NA
sat <- pmin(5, pmax(1, round(3.4 + 0.9 * lat + rnorm(n, sd = 0.7))))
sat[sample(n, 50)] <- NA
rec <- pmin(10, pmax(0, round(7 + 1.9 * lat + rnorm(n, sd = 0.9))))
rec[sample(n, 60)] <- NA
spend <- round(exp(3 + 0.3 * lat + rnorm(n, sd = 0.5)), 2)
spend[sample(n, 30)] <- NA
w <- exp(rnorm(n, sd = 0.4)) * c(north = 0.9, south = 1.15)[region]
d <- data.frame(id = seq_len(n), wave = wave, brand = brand, region = region, plan = plan, sat = sat,
                rec = rec, spend = spend, w = w, stringsAsFactors = FALSE)

f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
write_csv <- function(df, path, header) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], f17)
  con <- file(path, "w")
  writeLines(paste0("# ", header), con)
  write.csv(df, con, row.names = FALSE, na = "", quote = TRUE)
  close(con)
}
prov <- paste0("source: tests/results/r/tabs.R; ", R.version.string, "; survey ", packageVersion("survey"),
               "; generated ", format(Sys.Date()))

dd <- d
dd$w <- f17(dd$w)
con <- file(file.path(out_dir, "tabs_data.csv"), "w")
writeLines(paste0("# ", c(prov, "seeded test data: set.seed(20261203); see the script")), con)
write.csv(dd, con, row.names = FALSE, na = "", quote = TRUE)
close(con)
d$w <- as.numeric(dd$w)  # exactly the values written

designs <- list(weighted = svydesign(ids = ~1, weights = ~w, data = d),
                unweighted = suppressWarnings(svydesign(ids = ~1, data = d)))
wts <- list(weighted = d$w, unweighted = rep(1, n))
MIN_TEST <- 30

neff <- function(w) if (length(w) && sum(w^2) > 0) sum(w)^2 / sum(w^2) else 0

# ---------------------------------------------------------------- test primitives
# pooled column-proportions z test on effective bases; checked against prop.test
pooled_test <- function(pa, na, pb, nb) {
  diff <- pa - pb
  pp <- (pa * na + pb * nb) / (na + nb)
  se <- sqrt(pp * (1 - pp) * (1 / na + 1 / nb))
  z <- diff / se
  pt <- suppressWarnings(prop.test(c(pa * na, pb * nb), c(na, nb), correct = FALSE))
  stopifnot(isTRUE(all.equal(z^2, unname(pt$statistic), tolerance = 1e-10)))
  c(diff = diff, se = se, stat = sign(diff) * sqrt(unname(pt$statistic)), df = Inf, p_val = pt$p.value)
}

welch_test <- function(ya, yb) {
  tt <- t.test(ya, yb)  # Welch (var.equal = FALSE)
  se <- unname(tt$stderr)
  c(diff = mean(ya) - mean(yb), se = se, stat = unname(tt$statistic), df = unname(tt$parameter),
    p_val = tt$p.value)
}

# design-based: the two disjoint domains as the levels of one factor, svyby(covmat) + svycontrast
design_test <- function(des, y, in_a, in_b) {
  pf <- ifelse(in_a, "a", ifelse(in_b, "b", NA))
  des2 <- update(des, pf = factor(pf, levels = c("a", "b")), yy = y)
  sub <- subset(des2, !is.na(pf) & !is.na(yy))
  sb <- svyby(~yy, ~pf, sub, svymean, covmat = TRUE)
  ct <- svycontrast(sb, c(a = 1, b = -1))
  diff <- as.numeric(coef(ct))
  se <- as.numeric(SE(ct))
  c(diff = diff, se = se, stat = diff / se, df = Inf, p_val = 2 * pnorm(-abs(diff / se)))
}

# one comparison of domain a with domain b (logical vectors over all rows) for variable y
compare <- function(wt, method, kind, y, in_a, in_b) {
  ww <- wts[[wt]]
  oa <- in_a & !is.na(y)
  ob <- in_b & !is.na(y)
  na <- neff(ww[oa]); nb <- neff(ww[ob])
  ea <- sum(ww[oa] * y[oa]) / sum(ww[oa]); eb <- sum(ww[ob] * y[ob]) / sum(ww[ob])
  res <- c(diff = ea - eb, se = NA, stat = NA, df = NA, p_val = NA)
  if (na >= MIN_TEST && nb >= MIN_TEST) {
    if (kind == "prop" && method == "pooled") {
      res <- pooled_test(ea, na, eb, nb)
    } else if (kind == "mean" && method == "pooled" && wt == "unweighted") {
      res <- welch_test(y[oa], y[ob])
    } else {
      res <- design_test(designs[[wt]], y, in_a, in_b)
    }
    if (!is.finite(res[["stat"]])) res[c("stat", "df", "p_val")] <- NA
  }
  c(est_a = ea, est_b = eb, res)
}

# ---------------------------------------------------------------- 1) column tests (all rows)
pair_rows <- list()
levs <- c("a", "b", "c", "d")
pairs <- combn(levs, 2)
for (wt in c("weighted", "unweighted")) {
  for (lv in c("p1", "p2", "p3")) {
    y <- ifelse(is.na(d$plan), NA, as.numeric(d$plan == lv))
    for (method in c("pooled", "design")) {
      for (k in seq_len(ncol(pairs))) {
        a <- pairs[1, k]; b <- pairs[2, k]
        r <- compare(wt, method, "prop", y, d$brand %in% a, d$brand %in% b)
        pair_rows[[length(pair_rows) + 1]] <- data.frame(
          kind = "proportions", method = method, weighted = wt == "weighted", row = "plan", level = lv,
          col_a = a, col_b = b, t(r))
      }
    }
  }
  for (q in c("sat", "spend")) {
    for (method in c(if (wt == "unweighted") "welch", "design")) {
      for (k in seq_len(ncol(pairs))) {
        a <- pairs[1, k]; b <- pairs[2, k]
        r <- compare(wt, if (method == "welch") "pooled" else "design", "mean", d[[q]], d$brand %in% a,
                     d$brand %in% b)
        pair_rows[[length(pair_rows) + 1]] <- data.frame(
          kind = "means", method = method, weighted = wt == "weighted", row = q, level = q,
          col_a = a, col_b = b, t(r))
      }
    }
  }
}
pairs_ref <- do.call(rbind, pair_rows)
write_csv(pairs_ref, file.path(out_dir, "tabs_pairs.csv"),
          paste(prov, "| column tests of plan (levels), sat and spend (means) across brand; min_test 30"))

# ---------------------------------------------------------------- 2) a small tab book
# banner: Total | brand: a b c d, net ab = {a, b} | region: north south
banner <- list(
  list(key = "total", group = "total", codes = NULL, letter = ""),
  list(key = "brand:a", group = "brand", codes = "a", letter = "A"),
  list(key = "brand:b", group = "brand", codes = "b", letter = "B"),
  list(key = "brand:c", group = "brand", codes = "c", letter = "C"),
  list(key = "brand:d", group = "brand", codes = "d", letter = "D"),
  list(key = "brand:net:ab", group = "brand", codes = c("a", "b"), letter = "E"),
  list(key = "region:north", group = "region", codes = "north", letter = "A"),
  list(key = "region:south", group = "region", codes = "south", letter = "B"))
in_col <- function(col, wv) {
  base <- d$wave == wv
  if (col$group == "total") base else base & d[[col$group]] %in% col$codes
}
# stub rows: (stub, row key, kind, y)
ind <- function(x, codes) ifelse(is.na(x), NA, as.numeric(x %in% codes))
nps_value <- ifelse(is.na(d$rec), NA, ifelse(d$rec >= 9, 100, ifelse(d$rec >= 7, 0, -100)))
stub_rows <- list(
  list("plan", "level:p1", "prop", ind(d$plan, "p1")),
  list("plan", "level:p2", "prop", ind(d$plan, "p2")),
  list("plan", "level:p3", "prop", ind(d$plan, "p3")),
  list("plan", "net:top", "prop", ind(d$plan, c("p1", "p2"))))
for (s in 1:5) stub_rows[[length(stub_rows) + 1]] <- list("sat", paste0("level:", s), "prop", ind(d$sat, s))
stub_rows <- c(stub_rows, list(
  list("sat", "top_box", "prop", ind(d$sat, 4:5)),
  list("sat", "bottom_box", "prop", ind(d$sat, 1:2)),
  list("sat", "mean", "mean", d$sat),
  list("sat", "sd", "sd", d$sat),
  list("sat", "se", "se", d$sat),
  list("rec", "promoters", "prop", ind(d$rec, 9:10)),
  list("rec", "passives", "prop", ind(d$rec, 7:8)),
  list("rec", "detractors", "prop", ind(d$rec, 0:6)),
  list("rec", "nps", "mean", nps_value),
  list("spend", "mean", "mean", d$spend),
  list("spend", "sd", "sd", d$spend),
  list("spend", "se", "se", d$spend)))

configs <- list(
  list(name = "weighted_pooled_holm", wt = "weighted", method = "pooled", adjust = "holm"),
  list(name = "weighted_design_fdr", wt = "weighted", method = "design", adjust = "BH"),
  list(name = "unweighted_pooled_none", wt = "unweighted", method = "pooled", adjust = "none"))

test_rows <- list(); cell_rows <- list(); base_rows <- list()
for (cfg in configs) {
  ww <- wts[[cfg$wt]]
  des <- designs[[cfg$wt]]
  for (sr in stub_rows) {
    stub <- sr[[1]]; rkey <- sr[[2]]; kind <- sr[[3]]; y <- sr[[4]]
    yq <- d[[stub]]  # the stub's answers: its base
    est <- function(dom) { o <- dom & !is.na(y); sum(ww[o] * y[o]) / sum(ww[o]) }
    value <- function(col, wv) {
      dom <- in_col(col, wv) & !is.na(y)
      if (kind %in% c("prop", "mean")) return(est(dom))
      if (sum(dom) < 2) return(NA)
      sub <- subset(des, dom)
      if (kind == "sd") {
        v <- svyvar(as.formula(paste0("~", stub)), sub, na.rm = TRUE)
        return(sqrt(as.numeric(coef(v))))
      }
      # se: classic s / sqrt(n) under the unweighted pooled method (Welch), else design-based
      if (cfg$method == "pooled" && cfg$wt == "unweighted") return(sd(y[dom]) / sqrt(sum(dom)))
      as.numeric(SE(svymean(as.formula(paste0("~", stub)), sub, na.rm = TRUE)))
    }
    values <- sapply(banner, value, wv = 2)
    prev <- sapply(banner, value, wv = 1)
    letters <- rep("", length(banner)); vs_total <- rep("", length(banner)); vs_prev <- rep("", length(banner))
    if (kind %in% c("prop", "mean")) {
      tests <- list()
      for (grp in c("brand", "region")) {
        idx <- which(sapply(banner, function(b) b$group) == grp)
        # pairs within the group (not sharing respondents)
        fam <- list()
        for (x in seq_along(idx)) for (z in seq_along(idx)) {
          if (z <= x) next
          ca <- banner[[idx[x]]]; cb <- banner[[idx[z]]]
          if (length(intersect(ca$codes, cb$codes))) next
          r <- compare(cfg$wt, cfg$method, kind, y, in_col(ca, 2), in_col(cb, 2))
          fam[[length(fam) + 1]] <- list(test = "pair", group = grp, a = idx[x], b = idx[z], r = r)
        }
        tests <- c(tests, list(fam))
        # each column against the rest of the total
        fam <- list()
        for (i in idx) {
          r <- compare(cfg$wt, cfg$method, kind, y, in_col(banner[[i]], 2), d$wave == 2 & !in_col(banner[[i]], 2))
          fam[[length(fam) + 1]] <- list(test = "total", group = grp, a = i, b = NA, r = r)
        }
        tests <- c(tests, list(fam))
      }
      # previous wave: one family per group (the Total its own)
      for (grp in c("total", "brand", "region")) {
        idx <- which(sapply(banner, function(b) b$group) == grp)
        fam <- list()
        for (i in idx) {
          r <- compare(cfg$wt, cfg$method, kind, y, in_col(banner[[i]], 2), in_col(banner[[i]], 1))
          fam[[length(fam) + 1]] <- list(test = "previous", group = grp, a = i, b = NA, r = r)
        }
        tests <- c(tests, list(fam))
      }
      for (fam in tests) {
        p <- sapply(fam, function(t) t$r[["p_val"]])
        padj <- if (cfg$adjust == "none") p else p.adjust(p, cfg$adjust)  # NAs are left out of n
        for (k in seq_along(fam)) {
          t <- fam[[k]]; r <- t$r
          sig <- !is.na(padj[k]) && padj[k] < 0.05
          if (t$test == "pair") {
            if (sig && r[["diff"]] > 0) letters[t$a] <- paste0(letters[t$a], banner[[t$b]]$letter)
            if (sig && r[["diff"]] < 0) letters[t$b] <- paste0(letters[t$b], banner[[t$a]]$letter)
          } else {
            flag <- if (sig && r[["diff"]] > 0) "higher" else if (sig && r[["diff"]] < 0) "lower" else ""
            if (t$test == "total") vs_total[t$a] <- flag else vs_prev[t$a] <- flag
          }
          test_rows[[length(test_rows) + 1]] <- data.frame(
            config = cfg$name, stub = stub, row = rkey, test = t$test, group = t$group,
            col_a = banner[[t$a]]$key,
            col_b = if (t$test == "pair") banner[[t$b]]$key else if (t$test == "total") "rest" else "previous",
            est_a = r[["est_a"]], est_b = r[["est_b"]], diff = r[["diff"]], se = r[["se"]], stat = r[["stat"]],
            df = r[["df"]], p_val = r[["p_val"]], p_adj = padj[k])
        }
      }
    }
    # letters within a cell in alphabetical order
    letters <- sapply(letters, function(s) paste(sort(strsplit(s, "")[[1]]), collapse = ""))
    for (i in seq_along(banner)) {
      cell_rows[[length(cell_rows) + 1]] <- data.frame(
        config = cfg$name, stub = stub, row = rkey, column = banner[[i]]$key, value = values[i],
        previous = prev[i], letters = unname(letters[i]), vs_total = vs_total[i], vs_previous = vs_prev[i])
    }
  }
  for (stub in c("plan", "sat", "rec", "spend")) {
    for (b in banner) {
      o <- in_col(b, 2) & !is.na(d[[stub]])
      base_rows[[length(base_rows) + 1]] <- data.frame(
        config = cfg$name, stub = stub, column = b$key, n = sum(o & ww > 0), weighted = sum(ww[o]),
        n_eff = neff(ww[o]))
    }
  }
}
write_csv(do.call(rbind, test_rows), file.path(out_dir, "tabs_book_tests.csv"),
          paste(prov, "| tab book tests, wave 2 vs 1; configs weighted/pooled/holm, weighted/design/BH, unweighted/pooled/none"))
write_csv(do.call(rbind, cell_rows), file.path(out_dir, "tabs_book_cells.csv"),
          paste(prov, "| tab book cells (wave 2), letters and flags at adjusted p < 0.05"))
write_csv(do.call(rbind, base_rows), file.path(out_dir, "tabs_book_bases.csv"),
          paste(prov, "| bases of the reported wave: answered respondents per stub and column"))

# ---------------------------------------------------------------- 3) p.adjust with NAs
set.seed(7)
fam <- matrix(runif(6 * 8)^2, nrow = 6)
fam[cbind(c(1, 2, 2, 4, 5, 5, 5), c(3, 1, 8, 5, 2, 4, 6))] <- NA
fam[6, ] <- c(0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, NA)
adj <- list()
for (m in c("none", "bonferroni", "holm", "BH")) {
  for (i in seq_len(nrow(fam))) {
    q <- if (m == "none") fam[i, ] else p.adjust(fam[i, ], m)
    adj[[length(adj) + 1]] <- data.frame(method = m, family = i, position = seq_len(ncol(fam)), p = fam[i, ],
                                         p_adj = q)
  }
}
write_csv(do.call(rbind, adj), file.path(out_dir, "tabs_padjust.csv"),
          paste0("source: tests/results/r/tabs.R; ", R.version.string, "; stats::p.adjust per family (NA = not tested)"))
cat("wrote", nrow(pairs_ref), "pair rows,", length(test_rows), "book tests,", length(cell_rows), "cells to", out_dir, "\n")
