# Reference values for tests/test_gaps.py (workbench.gaps).
#
# Writes, next to this script's parent folder (tests/results/):
#   gaps_small_customers.csv  seeded SERVQUAL data: 2 dimensions (dimA: a1-a3, dimB: b1-b2),
#                             E_/P_/ADQ_/DES_ items on 1-7 with missing answers, weight w,
#                             segment (g1, g2, g3 -- g3 is a low base), imp_dimA/imp_dimB
#   gaps_small_mgmt.csv       seeded management/staff data: ME_ items, SPEC_/DEL_/PROM_ per dimension
#   gaps_r_reference.csv      expected values: analysis, group, level, dimension, item, statistic, value
#
# Sources: stats::t.test (paired and Welch), survey::svydesign(ids = ~1, weights = ~w) with
# svymean / svyby / svyttest / svyglm, psych::alpha (raw_alpha and Feldt interval).
# Run from the repository root:  Rscript tests/results/r/gaps_reference.R
suppressMessages({library(survey); library(psych)})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- dirname(here)

set.seed(20261123)
n <- 90
items <- list(dimA = c("a1", "a2", "a3"), dimB = c("b1", "b2"))
all_items <- unlist(items)
clip7 <- function(x) pmin(7, pmax(1, round(x)))
segment <- c(rep("g1", 50), rep("g2", 28), rep("g3", 12))
w <- round(runif(n, 0.4, 2.5), 4)
style <- rnorm(n, 0, 0.4)
d <- data.frame(resp_id = sprintf("C%03d", 1:n), segment = segment, w = w)
lat_dim <- list(a = rnorm(n, 0, 0.6), b = rnorm(n, 0, 0.6))
for (it in all_items) {
  lat <- lat_dim[[substr(it, 1, 1)]] + rnorm(n, 0, 0.3)
  shiftP <- if (startsWith(it, "a")) -0.9 else -0.2
  d[[paste0("E_", it)]] <- clip7(5.6 + style + lat + rnorm(n, 0, 0.7))
  d[[paste0("P_", it)]] <- clip7(5.6 + shiftP + style + 0.5 * lat + rnorm(n, 0, 0.9))
  d[[paste0("ADQ_", it)]] <- clip7(4.4 + style + rnorm(n, 0, 0.8))
  d[[paste0("DES_", it)]] <- clip7(6.0 + style + lat + rnorm(n, 0, 0.6))
}
# missing answers: never a whole dimension of one respondent for the alpha rows
set_na <- function(col, rows) d[[col]][rows] <<- NA
set_na("E_a1", c(3, 17)); set_na("P_a2", c(5, 40)); set_na("P_b1", c(8)); set_na("E_b2", c(60))
set_na("ADQ_a3", c(11)); set_na("DES_b1", c(22, 71)); set_na("P_a3", c(5))  # row 5: one of three dimA pairs left
imp_a <- round(runif(n, 20, 80))
d$imp_dimA <- imp_a
d$imp_dimB <- 100 - imp_a
d$imp_dimA[c(30)] <- NA; d$imp_dimB[c(30)] <- NA      # skipped the allocation
write.csv(d, file.path(out_dir, "gaps_small_customers.csv"), row.names = FALSE, na = "")

m <- data.frame(staff_id = sprintf("S%03d", 1:40), role = c(rep("manager", 15), rep("frontline", 25)))
mgr <- m$role == "manager"; fl <- !mgr
for (it in all_items) {
  x <- rep(NA_real_, 40)
  x[mgr] <- clip7(5.0 + rnorm(15, 0, 0.9))
  m[[paste0("ME_", it)]] <- x
}
for (dm in names(items)) {
  spec <- rep(NA_real_, 40); del <- rep(NA_real_, 40); prom <- rep(NA_real_, 40)
  spec[mgr] <- clip7(4.9 + rnorm(15, 0, 1)); spec[fl] <- clip7(5.2 + rnorm(25, 0, 1))
  del[fl] <- clip7(spec[fl] - 0.6 + rnorm(25, 0, 0.8)); prom[fl] <- clip7(5.9 + rnorm(25, 0, 0.8))
  m[[paste0("SPEC_", dm)]] <- spec; m[[paste0("DEL_", dm)]] <- del; m[[paste0("PROM_", dm)]] <- prom
}
m$ME_a2[2] <- NA
write.csv(m, file.path(out_dir, "gaps_small_mgmt.csv"), row.names = FALSE, na = "")

# ---- helpers --------------------------------------------------------------------------------------
rows <- list()
add <- function(analysis, group, level, dimension, item, stats) {
  for (s in names(stats)) {
    rows[[length(rows) + 1]] <<- data.frame(analysis = analysis, group = group, level = level,
      dimension = dimension, item = item, statistic = s, value = unname(stats[[s]]))
  }
}
# respondent scores: dimension = mean over items answered in all of `roles`, at least half of them
dim_scores <- function(df, roles) {
  out <- list()
  for (dm in names(items)) {
    its <- items[[dm]]
    ok <- Reduce(`&`, lapply(roles, function(r) !is.na(as.matrix(df[paste0(r, "_", its)]))))
    need <- ceiling(0.5 * length(its))
    for (r in roles) {
      x <- as.matrix(df[paste0(r, "_", its)]); x[!ok] <- NA
      s <- rowMeans(x, na.rm = TRUE); s[rowSums(ok) < need] <- NA
      out[[paste0(r, "_", dm)]] <- s
    }
  }
  okd <- Reduce(`&`, lapply(roles, function(r) !is.na(do.call(cbind, out[paste0(r, "_", names(items))]))))
  for (r in roles) {
    x <- do.call(cbind, out[paste0(r, "_", names(items))]); x[!okd] <- NA
    s <- rowMeans(x, na.rm = TRUE); s[rowSums(okd) < ceiling(0.5 * length(items))] <- NA
    out[[paste0(r, "_overall")]] <- s
  }
  out
}
paired <- function(a, b) {              # t.test(b, a, paired = TRUE)
  ok <- !is.na(a) & !is.na(b)
  tt <- t.test(b[ok], a[ok], paired = TRUE)
  dd <- b[ok] - a[ok]
  c(target = mean(a[ok]), achieved = mean(b[ok]), est = unname(tt$estimate), se = unname(tt$stderr),
    t = unname(tt$statistic), df = unname(tt$parameter), p_val = tt$p.value,
    ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], n = sum(ok), cohen_dz = mean(dd) / sd(dd))
}
# every comparison column: item and dimension/overall scores
columns <- function(df, ra, rb) {
  sc <- dim_scores(df, c(ra, rb))
  cols <- list()
  for (dm in names(items)) for (it in items[[dm]])
    cols[[length(cols) + 1]] <- list(level = "item", dimension = dm, item = it,
      a = df[[paste0(ra, "_", it)]], b = df[[paste0(rb, "_", it)]])
  for (dm in names(items))
    cols[[length(cols) + 1]] <- list(level = "dimension", dimension = dm, item = "",
      a = sc[[paste0(ra, "_", dm)]], b = sc[[paste0(rb, "_", dm)]])
  cols[[length(cols) + 1]] <- list(level = "overall", dimension = "", item = "",
    a = sc[[paste0(ra, "_overall")]], b = sc[[paste0(rb, "_overall")]])
  cols
}

# ---- gap 5, unweighted: t.test(P, E, paired = TRUE), all and by segment ----------------------------
for (grp in c("all", "g1", "g2")) {
  sub <- if (grp == "all") d else d[d$segment == grp, ]
  for (cc in columns(sub, "E", "P")) add("servqual", grp, cc$level, cc$dimension, cc$item, paired(cc$a, cc$b))
}

# ---- gap 5, weighted: survey (linearisation, with replacement) -------------------------------------
cc_all <- columns(d, "E", "P")
for (k in seq_along(cc_all)) d[[paste0(".d", k)]] <- cc_all[[k]]$b - cc_all[[k]]$a
for (k in seq_along(cc_all)) { d[[paste0(".a", k)]] <- ifelse(is.na(d[[paste0(".d", k)]]), NA, cc_all[[k]]$a)
                               d[[paste0(".b", k)]] <- ifelse(is.na(d[[paste0(".d", k)]]), NA, cc_all[[k]]$b) }
des <- svydesign(ids = ~1, weights = ~w, data = d)
for (k in seq_along(cc_all)) {
  cc <- cc_all[[k]]; v <- paste0(".d", k)
  f <- as.formula(paste0("~", v))
  m1 <- svymean(f, des, na.rm = TRUE)
  tt <- svyttest(as.formula(paste0(v, "~0")), des, na.rm = TRUE)
  g <- svyglm(as.formula(paste0(v, "~1")), design = subset(des, !is.na(d[[v]])))
  cf <- summary(g)$coefficients
  ci <- confint(m1, df = g$df.residual)
  ok <- !is.na(d[[v]])
  dd <- d[[v]][ok]; ww <- d$w[ok]; mw <- sum(ww * dd) / sum(ww)
  add("servqual_weighted", "all", cc$level, cc$dimension, cc$item, c(
    target = coef(svymean(as.formula(paste0("~.a", k)), des, na.rm = TRUE)),
    achieved = coef(svymean(as.formula(paste0("~.b", k)), des, na.rm = TRUE)),
    est = unname(coef(m1)), se = unname(SE(m1)),
    svyttest_t = unname(tt$statistic), svyttest_df = unname(tt$parameter),
    svyglm_t = cf[1, "t value"], df = g$df.residual, p_val = cf[1, "Pr(>|t|)"],
    ci_low = ci[1], ci_high = ci[2], n = sum(ok), n_eff = sum(ww)^2 / sum(ww^2),
    cohen_dz = mw / sqrt(sum(ww * (dd - mw)^2) / sum(ww) * sum(ok) / (sum(ok) - 1))))
  by <- svyby(f, ~segment, des, svymean, na.rm = TRUE)
  for (grp in c("g1", "g2")) {
    okg <- ok & d$segment == grp
    dfg <- degf(subset(des, okg))
    est <- by[grp, v]; se <- SE(by)[which(rownames(by) == grp)]
    add("servqual_weighted", grp, cc$level, cc$dimension, cc$item, c(
      est = est, se = se, df = dfg, p_val = 2 * pt(-abs(est / se), dfg),
      ci_low = est - qt(0.975, dfg) * se, ci_high = est + qt(0.975, dfg) * se, n = sum(okg)))
  }
}

# ---- Cronbach's alpha: psych::alpha raw_alpha (use = "pairwise") and Feldt interval ----------------
for (dm in names(items)) {
  its <- items[[dm]]
  for (ms in c("expectation", "perception", "gap")) {
    x <- switch(ms,
      expectation = d[paste0("E_", its)], perception = d[paste0("P_", its)],
      gap = as.data.frame(as.matrix(d[paste0("P_", its)]) - as.matrix(d[paste0("E_", its)])))
    a <- suppressWarnings(suppressMessages(psych::alpha(x, warnings = FALSE)))
    add("reliability", "all", "dimension", dm, "", c(alpha = a$total$raw_alpha,
      ci_low = a$feldt$lower.ci$raw_alpha, ci_high = a$feldt$upper.ci$raw_alpha, n = nrow(x)))
  }
}

# ---- zone of tolerance: t.test(P, ADQ, paired) and t.test(P, DES, paired) on rows with all three ---
sc3 <- dim_scores(d, c("ADQ", "DES", "P"))
zcols <- list()
for (dm in names(items)) for (it in items[[dm]]) {
  q <- d[[paste0("ADQ_", it)]]; s <- d[[paste0("DES_", it)]]; p <- d[[paste0("P_", it)]]
  zcols[[length(zcols) + 1]] <- list(level = "item", dimension = dm, item = it, q = q, s = s, p = p)
}
for (dm in c(names(items), "overall"))
  zcols[[length(zcols) + 1]] <- list(level = if (dm == "overall") "overall" else "dimension",
    dimension = if (dm == "overall") "" else dm, item = "",
    q = sc3[[paste0("ADQ_", dm)]], s = sc3[[paste0("DES_", dm)]], p = sc3[[paste0("P_", dm)]])
for (zc in zcols) {
  ok <- !is.na(zc$q) & !is.na(zc$s) & !is.na(zc$p)
  msa <- paired(zc$q[ok], zc$p[ok]); mss <- paired(zc$s[ok], zc$p[ok])
  names(msa) <- paste0("msa_", names(msa)); names(mss) <- paste0("mss_", names(mss))
  add("zone", "all", zc$level, zc$dimension, zc$item, c(msa, mss))
}

# ---- weighted SERVQUAL: per respondent sum_d imp_d / 100 * gap_d -----------------------------------
sc <- dim_scores(d, c("E", "P"))
gA <- sc$P_dimA - sc$E_dimA; gB <- sc$P_dimB - sc$E_dimB
tot <- d$imp_dimA + d$imp_dimB
cA <- d$imp_dimA / tot * gA; cB <- d$imp_dimB / tot * gB
score <- cA + cB
# every row of the table uses the respondents with a score (a gap on both dimensions and an allocation)
d$.score <- score; d$.cA <- ifelse(is.na(score), NA, cA); d$.cB <- ifelse(is.na(score), NA, cB)
d$.impA <- ifelse(is.na(score), NA, d$imp_dimA); d$.impB <- ifelse(is.na(score), NA, d$imp_dimB)
des <- svydesign(ids = ~1, weights = ~w, data = d)
ok <- !is.na(score)
for (v in c(".score", ".cA", ".cB")) {
  tt <- t.test(d[[v]][ok])
  lev <- if (v == ".score") "overall" else "dimension"
  dm <- switch(v, .score = "", .cA = "dimA", .cB = "dimB")
  add("weighted_servqual", "all", lev, dm, "", c(est = unname(tt$estimate), se = unname(tt$stderr),
    t = unname(tt$statistic), df = unname(tt$parameter), p_val = tt$p.value, n = sum(ok)))
  m1 <- svymean(as.formula(paste0("~", v)), subset(des, ok))
  add("weighted_servqual_weighted", "all", lev, dm, "", c(est = unname(coef(m1))))
  m2 <- svymean(as.formula(paste0("~", v)), des, na.rm = TRUE)
  add("weighted_servqual_weighted", "all", lev, dm, "", c(se = unname(SE(m2))))
}
for (v in c(".impA", ".impB")) {
  dm <- if (v == ".impA") "dimA" else "dimB"
  add("weighted_servqual", "all", "dimension", dm, "", c(importance = mean(d[[v]][ok]),
    importance_se = sd(d[[v]][ok]) / sqrt(sum(ok))))
}

# ---- gaps 1-4 --------------------------------------------------------------------------------------
msc <- dim_scores(m, c("ME"))
csc <- dim_scores(d, c("E"))
welch <- function(a, b) {              # t.test(b, a), Welch
  a <- a[!is.na(a)]; b <- b[!is.na(b)]
  tt <- t.test(b, a)
  c(target = mean(a), achieved = mean(b), est = mean(b) - mean(a), se = unname(tt$stderr),
    t = unname(tt$statistic), df = unname(tt$parameter), p_val = tt$p.value,
    ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], n_target = length(a), n_achieved = length(b),
    cohen_d = (mean(b) - mean(a)) / sqrt((var(a) + var(b)) / 2))
}
for (dm in names(items)) for (it in items[[dm]])
  add("gap1", "all", "item", dm, it, welch(d[[paste0("E_", it)]], m[[paste0("ME_", it)]]))
for (dm in c(names(items), "overall"))
  add("gap1", "all", if (dm == "overall") "overall" else "dimension", if (dm == "overall") "" else dm, "",
      welch(csc[[paste0("E_", dm)]], msc[[paste0("ME_", dm)]]))
# gap 1 with weighted customers: svymean SE (domain of answered rows) + managers' SE, Satterthwaite df
for (dm in names(items)) {
  d$.e <- csc[[paste0("E_", dm)]]
  des <- svydesign(ids = ~1, weights = ~w, data = d)
  mc <- svymean(~.e, des, na.rm = TRUE)
  b <- msc[[paste0("ME_", dm)]]; b <- b[!is.na(b)]
  va <- SE(mc)^2; vb <- var(b) / length(b)
  dfa <- sum(!is.na(d$.e)) - 1; dfb <- length(b) - 1
  se <- sqrt(va + vb); dfw <- (va + vb)^2 / (va^2 / dfa + vb^2 / dfb)
  est <- mean(b) - unname(coef(mc))
  add("gap1_weighted", "all", "dimension", dm, "", c(est = est, se = unname(se), df = unname(dfw),
    p_val = unname(2 * pt(-abs(est / se), dfw))))
}
# overall of a per-dimension measure: mean of the dimension columns present (at least half)
spec <- function(r) {
  x <- lapply(names(items), function(dm) m[[paste0(r, "_", dm)]]); names(x) <- names(items)
  mat <- do.call(cbind, x); s <- rowMeans(mat, na.rm = TRUE)
  s[rowSums(!is.na(mat)) < ceiling(0.5 * length(items))] <- NA
  x$overall <- s; x
}
SP <- spec("SPEC"); DL <- spec("DEL"); PR <- spec("PROM")
MEd <- c(msc[paste0("ME_", names(items))], list(msc$ME_overall)); names(MEd) <- c(names(items), "overall")
for (dm in c(names(items), "overall")) {
  lev <- if (dm == "overall") "overall" else "dimension"; dd <- if (dm == "overall") "" else dm
  add("gap2", "all", lev, dd, "", paired(MEd[[dm]], SP[[dm]]))
  add("gap3", "all", lev, dd, "", paired(SP[[dm]], DL[[dm]]))
  add("gap4", "all", lev, dd, "", paired(PR[[dm]], DL[[dm]]))
}

res <- do.call(rbind, rows)
f <- file.path(out_dir, "gaps_r_reference.csv")
con <- file(f, "w")
writeLines(c(
  "# Reference values for workbench.gaps, computed by tests/results/r/gaps_reference.R",
  sprintf("# %s; survey %s; psych %s; date %s", R.version.string, packageVersion("survey"),
          packageVersion("psych"), format(Sys.Date())),
  "# Data: gaps_small_customers.csv and gaps_small_mgmt.csv (written by the same script, set.seed(20261123))"),
  con)
write.csv(res, con, row.names = FALSE)
close(con)
cat("wrote", nrow(res), "reference values to", f, "\n")
