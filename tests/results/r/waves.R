# Reference values for workbench.waves (tests/test_waves.py).
#
# Run from anywhere:  Rscript tests/results/r/waves.R
# Writes (into tests/results/):
#   waves_data.csv        the seeded test data set (1,800 respondents in 3 waves, 3 segments,
#                         3 brands; NPS 0-10 with a few missing; weights; O-data outcomes; churn)
#   waves_reference.csv   long table: check, key, stat, value
#
# Design throughout: with-replacement, one stage, no strata: svydesign(ids = ~1, weights = ~w) on
# ALL rows of waves_data.csv; groups are domains of that design (svyby / subset keep every row).
# NPS is svymean of the recoded score y = 100 promoter / 0 passive / -100 detractor.
#
# Checks
#   trend         svyby(~y, ~wave, svymean, covmat = TRUE); wave-on-wave by svycontrast
#   std           direct standardisation to (a) the weighted segment mix of wave 1 and (b) the
#                 target mix a = .5, b = .3, c = .2: svyby(~y, ~wave + segment, svymean,
#                 covmat = TRUE) then svycontrast with the shares as fixed coefficients; the
#                 same estimates from survey::svystandardize are written as std_svystandardize
#   dec           Kitagawa mix / rate / interaction split (and the midpoint split) of the change
#                 wave 1 -> 3 and 1 -> 2: svytotal of the cell indicators and cell sums of y,
#                 then svycontrast with the nonlinear expressions (delta method; shares random)
#   surv          survivorship: share of wave-1 respondents who left by wave 3 per NPS group
#                 (svyby on subset(wave == 1)), detractors - promoters (svycontrast), and the
#                 decomposition of (wave-1 stayers) - (all wave-1) by svytotal + svycontrast
#   xo            retention by NPS group (svyby, all rows with an outcome) and promoters -
#                 detractors
#   bench         NPS per brand within each wave, every pair of brands (svycontrast) and the
#                 Benjamini-Hochberg adjustment of those 9 p-values (p.adjust)

suppressMessages(library(survey))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_dir <- normalizePath(file.path(here, ".."))

# ---------------------------------------------------------------- data
set.seed(20261124)
n <- 1800
wave <- rep(1:3, each = 600)
mix <- list(c(0.5, 0.3, 0.2), c(0.45, 0.3, 0.25), c(0.35, 0.3, 0.35))
segment <- unlist(lapply(1:3, function(k) sample(c("a", "b", "c"), 600, replace = TRUE, prob = mix[[k]])))
brand <- sample(c("x", "y", "z"), n, replace = TRUE, prob = c(0.5, 0.25, 0.25))
lat <- rnorm(n) + c(a = -0.4, b = 0, c = 0.5)[segment] + 0.15 * (wave == 3) * (segment == "b") +
  c(x = 0, y = 0.25, z = -0.2)[brand]
nps <- pmin(10, pmax(0, round(7 + 2.2 * lat + rnorm(n, sd = 0.7))))
nps[sample(n, 30)] <- NA
w <- exp(rnorm(n, sd = 0.4)) * c(a = 1.2, b = 1, c = 0.8)[segment]
grp <- ifelse(is.na(nps), NA, ifelse(nps >= 9, "promoter", ifelse(nps >= 7, "passive", "detractor")))
p_ret <- c(detractor = 0.7, passive = 0.82, promoter = 0.9)
retained <- ifelse(is.na(grp), rbinom(n, 1, 0.8), rbinom(n, 1, p_ret[ifelse(is.na(grp), "passive", grp)]))
churn_month <- ifelse(retained == 1, NA, sample(1:6, n, replace = TRUE))
churned_before_wave <- ifelse(is.na(churn_month) | wave + churn_month > 6, NA, wave + churn_month)
spend <- round(exp(rnorm(n, log(40), 0.35)) * ifelse(is.na(grp), 1, c(detractor = 0.94, passive = 1, promoter = 1.06)[grp]), 2)
d <- data.frame(resp_id = sprintf("R%04d", seq_len(n)), wave = wave, segment = segment,
                brand = brand, nps = nps, w = w, retained_6m = retained,
                churned_before_wave = churned_before_wave, spend_6m = spend)

f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
prov <- paste0("source: tests/results/r/waves.R; ", R.version.string, "; survey ",
               packageVersion("survey"), "; generated ", format(Sys.Date()))
dd <- d
dd$w <- f17(dd$w)
con <- file(file.path(out_dir, "waves_data.csv"), "w")
writeLines(paste0("# ", c(prov, "seeded test data set: set.seed(20261124); see the script")), con)
write.csv(dd, con, row.names = FALSE, na = "", quote = FALSE)
close(con)

d$y <- ifelse(is.na(d$nps), NA, ifelse(d$nps >= 9, 100, ifelse(d$nps >= 7, 0, -100)))
d$grp <- grp
des <- svydesign(ids = ~1, weights = ~w, data = d)
# svyby(covmat = TRUE) fails with na.rm = TRUE when rows are missing, so the answered rows are
# taken first with subset(), which keeps the design's number of PSUs (domain estimation)
desy <- subset(des, !is.na(y))

ref <- data.frame(check = character(), key = character(), stat = character(), value = numeric())
se_of <- function(x) setNames(as.numeric(SE(x)), names(coef(x)))
add <- function(check, key, stat, value) {
  ref[nrow(ref) + 1, ] <<- list(check, key, stat, as.numeric(value))
}

# ---------------------------------------------------------------- trend
tr <- svyby(~y, ~wave, desy, svymean, covmat = TRUE)
for (k in 1:3) {
  add("trend", k, "est", coef(tr)[k])
  add("trend", k, "se", se_of(tr)[k])
}
for (k in 2:3) {
  cc <- rep(0, 3); cc[k] <- 1; cc[k - 1] <- -1
  ct <- svycontrast(tr, cc)
  add("trend_diff", k, "diff", coef(ct))
  add("trend_diff", k, "se", SE(ct))
}

# ---------------------------------------------------------------- standardisation
cellby <- svyby(~y, ~wave + segment, desy, svymean, covmat = TRUE)
# rows of cellby are ordered segment-major: a.1, b.1, c.1? -> use names
nm <- names(coef(cellby))
ans <- !is.na(d$y)
r1 <- tapply(d$w[ans & d$wave == 1], d$segment[ans & d$wave == 1], sum)
r1 <- r1 / sum(r1)
rt <- c(a = 0.5, b = 0.3, c = 0.2)
for (ref_name in c("first", "target")) {
  r <- if (ref_name == "first") r1 else rt
  for (k in 1:3) {
    cc <- setNames(rep(0, length(nm)), nm)
    for (s in names(r)) cc[paste(k, s, sep = ".")] <- r[[s]]
    ct <- svycontrast(cellby, cc)
    add(paste0("std_", ref_name), k, "est", coef(ct))
    add(paste0("std_", ref_name), k, "se", SE(ct))
  }
  # svystandardize: same point estimates (population = reference shares)
  sdes <- svystandardize(subset(des, !is.na(y)), by = ~segment, over = ~wave,
                         population = as.numeric(r[c("a", "b", "c")]))
  st <- svyby(~y, ~wave, sdes, svymean, na.rm = TRUE)
  for (k in 1:3) {
    add(paste0("std_svystandardize_", ref_name), k, "est", coef(st)[k])
    add(paste0("std_svystandardize_", ref_name), k, "se", se_of(st)[k])
  }
}
for (s in names(r1)) add("std_first_share", s, "share", r1[[s]])

# ---------------------------------------------------------------- decomposition (delta method)
segs <- c("a", "b", "c")
for (k in 1:3) for (s in segs) {
  inset <- d$wave == k & d$segment == s & ans
  d[[paste0("I", k, s)]] <- as.numeric(inset)
  d[[paste0("Y", k, s)]] <- ifelse(inset, d$y, 0)
}
des2 <- svydesign(ids = ~1, weights = ~w, data = d)
vars <- unlist(lapply(1:3, function(k) c(paste0("I", k, segs), paste0("Y", k, segs))))
tot <- svytotal(as.formula(paste("~", paste(vars, collapse = "+"))), des2)

share <- function(k, s) sprintf("(I%d%s/(I%da+I%db+I%dc))", k, s, k, k, k)
rate <- function(k, s) sprintf("(Y%d%s/I%d%s)", k, s, k, s)
sumexpr <- function(f) paste0("(", paste(vapply(segs, f, ""), collapse = " + "), ")")
parts <- function(a, b) {
  list(
    total = sumexpr(function(s) sprintf("%s*%s - %s*%s", share(b, s), rate(b, s), share(a, s), rate(a, s))),
    mix = sumexpr(function(s) sprintf("(%s - %s)*%s", share(b, s), share(a, s), rate(a, s))),
    rate = sumexpr(function(s) sprintf("%s*(%s - %s)", share(a, s), rate(b, s), rate(a, s))),
    interaction = sumexpr(function(s) sprintf("(%s - %s)*(%s - %s)", share(b, s), share(a, s), rate(b, s), rate(a, s))),
    mix_mid = sumexpr(function(s) sprintf("(%s - %s)*(%s + %s)/2", share(b, s), share(a, s), rate(a, s), rate(b, s))),
    rate_mid = sumexpr(function(s) sprintf("(%s - %s)*(%s + %s)/2", rate(b, s), rate(a, s), share(a, s), share(b, s)))
  )
}
for (pair in list(c(1, 3), c(1, 2))) {
  ex <- lapply(parts(pair[1], pair[2]), function(e) parse(text = e)[[1]])
  ct <- svycontrast(tot, ex)
  key <- paste(pair, collapse = "-")
  for (nmc in names(ex)) {
    add("dec", paste(key, nmc, sep = ":"), "est", coef(ct)[nmc])
    add("dec", paste(key, nmc, sep = ":"), "se", sqrt(vcov(ct)[nmc, nmc]))
  }
}

# ---------------------------------------------------------------- survivorship (base wave 1, latest 3)
left <- !is.na(d$churned_before_wave) & d$churned_before_wave <= 3
d$left <- ifelse(d$wave == 1, as.numeric(left), NA)
for (s in segs) {
  for (st in c("S", "L")) {
    inset <- d$wave == 1 & d$segment == s & ans & (if (st == "S") !left else left)
    d[[paste0("I", st, s)]] <- as.numeric(inset)
    d[[paste0("Y", st, s)]] <- ifelse(inset, d$y, 0)
  }
}
des3 <- svydesign(ids = ~1, weights = ~w, data = d)
chs <- svyby(~left, ~grp, subset(des3, wave == 1 & !is.na(grp)), svymean, covmat = TRUE)
for (g in c("detractor", "passive", "promoter")) {
  add("surv_churn", g, "est", coef(chs)[g])
  add("surv_churn", g, "se", se_of(chs)[g])
}
ct <- svycontrast(chs, c(detractor = 1, passive = 0, promoter = -1))
add("surv_churn_test", "detractor-promoter", "diff", coef(ct))
add("surv_churn_test", "detractor-promoter", "se", SE(ct))
vars3 <- c(paste0("IS", segs), paste0("YS", segs), paste0("IL", segs), paste0("YL", segs))
tot3 <- svytotal(as.formula(paste("~", paste(vars3, collapse = "+"))), des3)
sh_all <- function(s) sprintf("((IS%s+IL%s)/(ISa+ILa+ISb+ILb+ISc+ILc))", s, s)
rt_all <- function(s) sprintf("((YS%s+YL%s)/(IS%s+IL%s))", s, s, s, s)
sh_st <- function(s) sprintf("(IS%s/(ISa+ISb+ISc))", s)
rt_st <- function(s) sprintf("(YS%s/IS%s)", s, s)
sx <- list(
  total = sumexpr(function(s) sprintf("%s*%s - %s*%s", sh_st(s), rt_st(s), sh_all(s), rt_all(s))),
  mix_mid = sumexpr(function(s) sprintf("(%s - %s)*(%s + %s)/2", sh_st(s), sh_all(s), rt_all(s), rt_st(s))),
  rate_mid = sumexpr(function(s) sprintf("(%s - %s)*(%s + %s)/2", rt_st(s), rt_all(s), sh_all(s), sh_st(s)))
)
ct <- svycontrast(tot3, lapply(sx, function(e) parse(text = e)[[1]]))
for (nmc in names(sx)) {
  add("surv_effect", nmc, "est", coef(ct)[nmc])
  add("surv_effect", nmc, "se", sqrt(vcov(ct)[nmc, nmc]))
}

# ---------------------------------------------------------------- X + O
xo <- svyby(~retained_6m, ~grp, subset(des3, !is.na(grp)), svymean, covmat = TRUE)
for (g in c("detractor", "passive", "promoter")) {
  add("xo_retained", g, "est", coef(xo)[g])
  add("xo_retained", g, "se", se_of(xo)[g])
}
ct <- svycontrast(xo, c(detractor = -1, passive = 0, promoter = 1))
add("xo_test", "promoter-detractor", "diff", coef(ct))
add("xo_test", "promoter-detractor", "se", SE(ct))
p <- 2 * pnorm(-abs(coef(ct) / SE(ct)))
add("xo_test", "promoter-detractor", "p_val", p)

# ---------------------------------------------------------------- benchmark
bb <- svyby(~y, ~wave + brand, subset(des3, !is.na(y)), svymean, covmat = TRUE)
bn <- names(coef(bb))
pv <- c()
keys <- c()
for (k in 1:3) {
  for (pr in list(c("x", "y"), c("x", "z"), c("y", "z"))) {
    cc <- setNames(rep(0, length(bn)), bn)
    cc[paste(k, pr[1], sep = ".")] <- 1
    cc[paste(k, pr[2], sep = ".")] <- -1
    ct <- svycontrast(bb, cc)
    key <- sprintf("%d:%s-%s", k, pr[1], pr[2])
    add("bench_pair", key, "diff", coef(ct))
    add("bench_pair", key, "se", SE(ct))
    p <- 2 * pnorm(-abs(coef(ct) / SE(ct)))
    add("bench_pair", key, "p_val", p)
    pv <- c(pv, p)
    keys <- c(keys, key)
  }
}
padj <- p.adjust(pv, "BH")
for (i in seq_along(keys)) add("bench_pair", keys[i], "p_bh", padj[i])
for (k in 1:3) for (b in c("x", "y", "z")) {
  add("bench", paste(k, b, sep = ":"), "est", coef(bb)[paste(k, b, sep = ".")])
  add("bench", paste(k, b, sep = ":"), "se", se_of(bb)[paste(k, b, sep = ".")])
}

# ---------------------------------------------------------------- write
out <- ref
out$value <- f17(out$value)
con <- file(file.path(out_dir, "waves_reference.csv"), "w")
writeLines(paste0("# ", c(prov, "design: svydesign(ids=~1, weights=~w) on all rows of waves_data.csv",
                          "NPS as svymean of y = 100/0/-100; see the header of the script for each check")), con)
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
cat("wrote", nrow(ref), "reference values\n")
