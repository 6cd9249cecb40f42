# pROC: ROC + DeLong CI of the AUC + Youden cut-off, timed without the CSV read.
# Usage: Rscript proc.R data.csv repeats   (columns: marker, outcome 0/1)
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- if (length(args) > 1) as.integer(args[2]) else 3L
suppressMessages(library(pROC))
run <- function() {
  r <- roc(d$outcome, d$marker, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  co <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"))
  list(r = r, ci = ci, co = co)
}
times <- numeric(reps)
for (i in seq_len(reps)) times[i] <- system.time(res <- run())[["elapsed"]]
cat(sprintf("BENCH-R seconds=%.4f auc=%.6f ci_low=%.6f ci_high=%.6f threshold=%.6f sens=%.6f spec=%.6f version=%s\n",
            median(times), as.numeric(auc(res$r)), res$ci[1], res$ci[3], res$co$threshold[1],
            res$co$sensitivity[1], res$co$specificity[1], as.character(packageVersion("pROC"))))
