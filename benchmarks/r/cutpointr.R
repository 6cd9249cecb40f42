# cutpointr: Youden-optimal cut-off with stratified bootstrap, timed without the CSV read.
# Usage: Rscript cutpointr.R data.csv boot_runs
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
runs <- if (length(args) > 1) as.integer(args[2]) else 2000L
suppressMessages(library(cutpointr))
set.seed(1)
t <- system.time(cp <- cutpointr(d, marker, outcome, method = maximize_metric, metric = youden,
                                 pos_class = 1, direction = ">=", boot_runs = runs, boot_stratify = TRUE,
                                 silent = TRUE))[["elapsed"]]
b <- cp$boot[[1]]
q <- quantile(b$optimal_cutpoint, c(0.025, 0.975), na.rm = TRUE)
cat(sprintf("BENCH-R seconds=%.4f cutoff=%.6f ci_low=%.6f ci_high=%.6f boot_runs=%d version=%s\n",
            t, cp$optimal_cutpoint[[1]], q[1], q[2], runs, as.character(packageVersion("cutpointr"))))
