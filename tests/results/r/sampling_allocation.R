# Reference allocations for workbench.sampling.allocate / allocation_summary.
# Run from anywhere:  Rscript tests/results/r/sampling_allocation.R
# Writes tests/results/sampling_allocation.csv (one row per case x stratum, inputs and results)
# and tests/results/sampling_allocation_summary.csv (one row per case).
#
# Method, written independently of the Python solver (which finds lambda in
# n_h = clip(lambda a_h, lower_h, upper_h) by a breakpoint search):
# * size measure a_h: proportional N_h; Neyman N_h S_h (Neyman 1934; Cochran 1977 sec. 5.5);
#   optimal N_h S_h / sqrt(c_h) (Cochran 1977 sec. 5.5); equal 1; penetration users_h * pen_h.
# * bounds by the textbook iteration: allocate n in proportion to a among the free strata; fix
#   the strata above their maximum at the maximum (or, if none, those below their minimum at
#   the minimum) and repeat; release a fixed stratum if its proportional share falls back
#   inside its bounds.  At the end the Karush-Kuhn-Tucker conditions are checked (free strata
#   share one lambda, strata at the minimum have lambda a_h <= min, at the maximum >= max),
#   which for Neyman/optimal makes it the unique minimum-variance allocation under the bounds
#   (Gabler, Ganninger & Muennich 2012, Metrika 75:151-161).
# * integers by the largest remainder (Hamilton) method, ties to the earlier stratum.
# * summary: Kish (1965) design effect of the design weights w_h = N_h / n_h,
#   deff = n sum(n_h w_h^2) / (sum n_h w_h)^2; stratified margin of error of a proportion p,
#   z sqrt(sum W_h^2 p (1-p) f_h / n_h), f_h = (N_h - n_h) / (N_h - 1) (Cochran 1977 ch. 5
#   with S_h^2 = N_h p q / (N_h - 1)).

args <- commandArgs(trailingOnly = FALSE)
script <- normalizePath(sub("--file=", "", args[grep("--file=", args)]))
out_dir <- normalizePath(file.path(dirname(script), ".."))

box_alloc <- function(a, lo, up, n, max_iter = 1000) {
  H <- length(a)
  state <- rep("free", H)           # "free", "min" or "max"
  for (it in seq_len(max_iter)) {
    fixed_total <- sum(lo[state == "min"]) + sum(up[state == "max"])
    free <- state == "free"
    lam <- (n - fixed_total) / sum(a[free])
    x <- ifelse(state == "min", lo, ifelse(state == "max", up, lam * a))
    over <- free & x > up + 1e-9
    under <- free & x < lo - 1e-9
    if (any(over)) { state[over] <- "max"; next }
    if (any(under)) { state[under] <- "min"; next }
    release <- (state == "max" & lam * a < up - 1e-9) | (state == "min" & lam * a > lo + 1e-9)
    if (any(release)) { state[release] <- "free"; next }
    # KKT check
    stopifnot(abs(sum(x) - n) < 1e-8 * n,
              all(lam * a[state == "min"] <= lo[state == "min"] + 1e-9),
              all(lam * a[state == "max"] >= up[state == "max"] - 1e-9),
              all(x >= lo - 1e-9), all(x <= up + 1e-9))
    return(x)
  }
  stop("no convergence")
}

hamilton <- function(x, total) {
  base <- floor(x + 1e-9)
  k <- total - sum(base)
  rem <- x - base
  ord <- order(-rem, seq_along(x))
  if (k > 0) base[ord[seq_len(k)]] <- base[ord[seq_len(k)]] + 1
  base
}

# ---------------------------------------------------------------- inputs ----
# 20 strata (brand x region) like the demo study; populations from a fixed penetration table
brands <- c("aurora", "beacon", "cirrus", "delta")
regions <- c("north", "south", "east", "west", "central")
st <- expand.grid(region = regions, brand = brands, stringsAsFactors = FALSE)[, c("brand", "region")]
users <- c(north = 1.8e6, south = 2.4e6, east = 1.2e6, west = 0.9e6, central = 0.35e6)
pen <- rbind(aurora = c(0.34, 0.30, 0.38, 0.28, 0.40),
             beacon = c(0.25, 0.31, 0.22, 0.30, 0.20),
             cirrus = c(0.12, 0.09, 0.15, 0.10, 0.08),
             delta  = c(0.04, 0.06, 0.03, 0.05, 0.012))
colnames(pen) <- regions
st$category_users <- users[st$region]
st$penetration <- pen[cbind(st$brand, st$region)]
st$population <- st$category_users * st$penetration
st$p <- c(0.30, 0.35, 0.45, 0.50, 0.20)[match(st$region, regions)] +
        c(0.10, 0.00, -0.05, 0.05)[match(st$brand, brands)]
st$sd <- sqrt(st$p * (1 - st$p))
st$cost <- c(10, 12, 15, 18, 30)[match(st$region, regions)] * c(1, 1.2, 1.5, 2)[match(st$brand, brands)]

cases <- list(
  list(id = "proportional", method = "proportional", n = 4000, min = 0, max = Inf),
  list(id = "proportional_min300", method = "proportional", n = 8000, min = 300, max = Inf),
  list(id = "neyman_p", method = "neyman", n = 3000, min = 0, max = Inf),
  list(id = "neyman_p_min100_max250", method = "neyman", n = 3000, min = 100, max = 250),
  list(id = "optimal_cost_min80", method = "optimal", n = 2500, min = 80, max = Inf),
  list(id = "equal_max_pop", method = "equal", n = 6000, min = 0, max = Inf, tiny = TRUE),
  list(id = "penetration_min150_max400", method = "penetration", n = 5000, min = 150, max = 400)
)

rows <- list(); summ <- list()
for (cs in cases) {
  d <- st
  if (isTRUE(cs$tiny)) d$population[d$brand == "delta" & d$region == "central"] <- 137
  N <- if (cs$method == "penetration") d$category_users * d$penetration else d$population
  a <- switch(cs$method,
              proportional = N, penetration = N,
              neyman = N * d$sd,
              optimal = N * d$sd / sqrt(d$cost),
              equal = rep(1, nrow(d)))
  lo <- rep(cs$min, nrow(d))
  up <- pmin(rep(cs$max, nrow(d)), floor(N))
  x <- box_alloc(a, lo, up, cs$n)
  nh <- hamilton(x, cs$n)
  stopifnot(sum(nh) == cs$n, all(nh >= lo), all(nh <= up))
  w <- N / nh
  deff <- cs$n * sum(nh * w^2) / sum(nh * w)^2
  W <- N / sum(N)
  f <- (N - nh) / (N - 1)
  z <- qnorm(0.975)
  moe_h <- z * sqrt(d$p * (1 - d$p) * f / nh)           # per-stratum, at the stratum p
  moe_tot <- z * sqrt(sum(W^2 * d$p * (1 - d$p) * f / nh))
  rows[[cs$id]] <- data.frame(case = cs$id, method = cs$method, n_total = cs$n,
                              min_n = cs$min, max_n = cs$max, d[, c("brand", "region",
                              "category_users", "penetration", "population", "p", "sd", "cost")],
                              n_exact = x, n = nh, moe = moe_h)
  summ[[cs$id]] <- data.frame(case = cs$id, deff = deff, n_eff = cs$n / deff, moe = moe_tot)
}
alloc <- do.call(rbind, rows)
summary <- do.call(rbind, summ)

write_ref <- function(df, name, what) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(x) sprintf("%.17g", x))
  con <- file(file.path(out_dir, name), "w")
  writeLines(c(sprintf("# %s", what),
               sprintf("# generated by tests/results/r/sampling_allocation.R with %s on %s",
                       R.version.string, format(Sys.Date()))), con)
  write.csv(df, con, row.names = FALSE, quote = FALSE)
  close(con)
}
write_ref(alloc, "sampling_allocation.csv", "bounded allocation by the fix-and-reallocate iteration (KKT-checked) and Hamilton rounding; moe per stratum at its p with FPC (N-n)/(N-1)")
write_ref(summary, "sampling_allocation_summary.csv", "Kish deff of design weights N_h/n_h, n_eff = n/deff, stratified moe of a proportion (p per stratum, FPC (N-n)/(N-1), 95%)")
cat("written to", out_dir, "\n")
