# Golden values for Firth, restricted cubic spline, random-effects meta-analysis and cutpointr's
# out-of-bag bootstrap (tests/analytics/test_firth.py, test_spline.py, test_meta.py, test_optimism.py).
# Run once from this folder:  Rscript golden_i18a.R   (writes i18a/*.csv).  R 4.x with Debian's
# r-cran-brglm2 0.9, r-cran-rms 6.5.0 (Hmisc 4.8.0), r-cran-metafor 3.8.1, r-cran-cutpointr 1.1.2,
# r-cran-proc.  CI does not need R: the tests read the CSVs this script wrote.
options(digits = 17, warn = 1)
suppressMessages({library(brglm2); library(rms); library(metafor); library(cutpointr); library(pROC)})
dir.create("i18a", showWarnings = FALSE)
out <- function(df, name) write.csv(df, file.path("i18a", name), row.names = FALSE)

## ---------------------------------------------------------------- Firth
data("endometrial", package = "brglm2")
write.csv(endometrial, "endometrial.csv", row.names = FALSE)   # Heinze & Schemper (2002) data
ctl <- brglmControl(epsilon = 1e-14, maxit = 1000)
firth_fit <- function(formula, data) glm(formula, family = binomial, data = data, method = "brglmFit",
                                         type = "AS_mean", control = ctl)
# Profile penalised likelihood (logistf's definition: full-model information in the penalty),
# written here independently of the Python code: BFGS over the free coefficients, uniroot for the limit.
pen_loglik <- function(b, X, y) {
  eta <- drop(X %*% b); p <- plogis(eta)
  sum(y * eta - log1p(exp(eta))) + 0.5 * determinant(crossprod(X, X * (p * (1 - p))))$modulus[1]
}
pen_grad <- function(b, X, y) {
  p <- plogis(drop(X %*% b)); w <- p * (1 - p)
  h <- w * rowSums((X %*% solve(crossprod(X, X * w))) * X)
  drop(crossprod(X, y - p + h * (0.5 - p)))
}
profile_dev <- function(j, v, bhat, X, y) {
  free <- setdiff(seq_along(bhat), j)
  f <- function(bf) { b <- bhat; b[free] <- bf; b[j] <- v; -pen_loglik(b, X, y) }
  g <- function(bf) { b <- bhat; b[free] <- bf; b[j] <- v; -pen_grad(b, X, y)[free] }
  o <- optim(bhat[free], f, g, method = "BFGS", control = list(reltol = 1e-16, maxit = 5000))
  o <- optim(o$par, f, g, method = "BFGS", control = list(reltol = 1e-16, maxit = 5000))
  2 * (pen_loglik(bhat, X, y) + o$value)
}
profile_table <- function(fit) {
  X <- model.matrix(fit); y <- fit$y; bhat <- coef(fit); crit <- qchisq(0.95, 1)
  se <- sqrt(diag(vcov(fit)))
  do.call(rbind, lapply(seq_along(bhat), function(j) {
    f <- function(v) profile_dev(j, v, bhat, X, y) - crit
    lo <- uniroot(f, c(bhat[j] - 10 * se[j], bhat[j]), tol = 1e-12)$root
    hi <- uniroot(f, c(bhat[j], bhat[j] + 10 * se[j]), tol = 1e-12)$root
    chi2 <- profile_dev(j, 0, bhat, X, y)
    data.frame(column = names(bhat)[j], beta = unname(bhat[j]), se = unname(se[j]),
               ci_low = lo, ci_high = hi, chi2 = chi2, p_value = pchisq(chi2, 1, lower.tail = FALSE))
  }))
}
fe <- firth_fit(HG ~ NV + PI + EH, endometrial)
print(summary(fe)$coefficients)
out(profile_table(fe), "firth_endometrial.csv")
d <- read.csv("logistic_small.csv"); d$g <- factor(d$g); d <- na.omit(d)
fs <- firth_fit(y ~ x1 + x2 + x3 + g, d)
out(profile_table(fs), "firth_logistic_small.csv")
# joint penalised likelihood-ratio test of the factor g (both indicator columns fixed at 0)
jg <- which(names(coef(fs)) %in% c("gb", "gc"))
chi_g <- profile_dev(jg, 0, coef(fs), model.matrix(fs), fs$y)
out(data.frame(term = "g", df = 2, chi2 = chi_g, p_value = pchisq(chi_g, 2, lower.tail = FALSE)), "firth_term_g.csv")
complete <- data.frame(x = 1:10, y = rep(0:1, each = 5))              # complete separation at 5.5
out(profile_table(firth_fit(y ~ x, complete)), "firth_complete.csv")

## ---------------------------------------------------------------- restricted cubic spline
r <- read.csv("roc_sim.csv")
kn <- list()
for (nk in 3:7) kn[[length(kn) + 1]] <- data.frame(case = "roc_sim", nk = nk,
  knot = rcspline.eval(r$trough_ug_ml, nk = nk, knots.only = TRUE))
small <- r$trough_ug_ml[1:80]                                   # n < 100: 5th smallest / largest
for (nk in 3:5) kn[[length(kn) + 1]] <- data.frame(case = "first80", nk = nk,
  knot = rcspline.eval(small, nk = nk, knots.only = TRUE))
tied <- c(rep(0.5, 12), r$trough_ug_ml[13:150])                 # 8% tied at the bottom (fractied)
for (nk in 3:5) kn[[length(kn) + 1]] <- data.frame(case = "tied_bottom", nk = nk,
  knot = rcspline.eval(tied, nk = nk, knots.only = TRUE))
out(do.call(rbind, kn), "rcs_knots.csv")
k4 <- rcspline.eval(r$trough_ug_ml, nk = 4, knots.only = TRUE)
grid <- data.frame(trough_ug_ml = seq(1, 12, by = 0.25))
out(data.frame(trough_ug_ml = grid$trough_ug_ml, rcspline.eval(grid$trough_ug_ml, knots = k4, inclx = TRUE)),
    "rcs_basis_4.csv")
sp_fit <- function(nk) {
  k <- rcspline.eval(r$trough_ug_ml, nk = nk, knots.only = TRUE)
  f <- glm(mh ~ rcs(trough_ug_ml, k), family = binomial, data = r, control = glm.control(epsilon = 1e-14, maxit = 100))
  f <- update(f, start = coef(f))   # vcov at the MLE itself (see docs/ANALYSES.md "Fits")
  pr <- predict(f, newdata = grid, type = "link", se.fit = TRUE)
  data.frame(nk = nk, trough_ug_ml = grid$trough_ug_ml, eta = pr$fit, se = pr$se.fit,
             probability = plogis(pr$fit), ci_low = plogis(pr$fit - qnorm(0.975) * pr$se.fit),
             ci_high = plogis(pr$fit + qnorm(0.975) * pr$se.fit), fitted_first = fitted(f)[1])
}
out(rbind(sp_fit(3), sp_fit(4), sp_fit(5)), "rcs_curve.csv")

## ---------------------------------------------------------------- random-effects meta-analysis
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
meta_row <- function(res, label, pi_type = "default") {
  p <- predict(res, pi.type = pi_type)
  data.frame(case = label, method = res$method, pi_type = pi_type, k = res$k, estimate = as.numeric(res$b),
             se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub, z = res$zval, p_value = res$pval,
             tau2 = res$tau2, q = res$QE, q_p_value = res$QEp, i2 = res$I2, h2 = res$H2,
             pi_low = p$pi.lb, pi_high = p$pi.ub)
}
reml_ctl <- list(threshold = 1e-14, maxiter = 10000, stepadj = 0.5)
m <- list(
  meta_row(rma(yi, vi, data = bcg, method = "DL"), "bcg"),
  meta_row(rma(yi, vi, data = bcg, method = "REML", control = reml_ctl), "bcg"),
  meta_row(rma(yi, vi, data = bcg, method = "REML", control = reml_ctl), "bcg", "riley"))
out(data.frame(yi = as.numeric(bcg$yi), vi = bcg$vi), "bcg.csv")
# per-centre AUCs of the trough for MH (DeLong variance from pROC), the study's use
auc <- do.call(rbind, lapply(sort(unique(r$centre)), function(c) {
  rc <- roc(r$mh[r$centre == c], r$trough_ug_ml[r$centre == c], levels = c(0, 1), direction = "<", quiet = TRUE)
  data.frame(centre = c, auc = as.numeric(auc(rc)), variance = var(rc, method = "delong"))
}))
out(auc, "centre_auc.csv")
m[[4]] <- meta_row(rma(auc, variance, data = auc, method = "DL"), "roc_sim_centres")
m[[5]] <- meta_row(rma(auc, variance, data = auc, method = "REML", control = reml_ctl), "roc_sim_centres")
out(do.call(rbind, m), "meta.csv")

## ---------------------------------------------------------------- cutpointr out-of-bag bootstrap
N <- nrow(r); B <- 200
run_cp <- function(stratify) {
  set.seed(20261201)
  cp <- cutpointr(r, trough_ug_ml, mh, pos_class = 1, neg_class = 0, direction = ">=",
                  method = maximize_metric, metric = youden, break_ties = min,
                  boot_runs = B, boot_stratify = stratify, silent = TRUE)
  # the same draws, reproduced: cutpointr's simple_boot calls sample() once per run (stratified:
  # positives then negatives), and nothing else in a run uses the RNG
  set.seed(20261201)
  ipos <- which(r$mh == 1); ineg <- which(r$mh == 0)
  idx <- t(sapply(seq_len(B), function(b) if (stratify)
    c(sample(ipos, length(ipos), replace = TRUE), sample(ineg, length(ineg), replace = TRUE))
    else sample(1:N, N, replace = TRUE)))
  tag <- if (stratify) "stratified" else "simple"
  write.csv(idx - 1, file.path("i18a", paste0("cutpointr_indices_", tag, ".csv")), row.names = FALSE)
  bt <- cp$boot[[1]]
  out(data.frame(cutoff = bt$optimal_cutpoint, sensitivity_b = bt$sensitivity_b, specificity_b = bt$specificity_b,
                 sensitivity_oob = bt$sensitivity_oob, specificity_oob = bt$specificity_oob,
                 youden_oob = bt$youden_oob), paste0("cutpointr_boot_", tag, ".csv"))
  s <- summary(cp)$boot[[1]]
  out(as.data.frame(s), paste0("cutpointr_summary_", tag, ".csv"))
  print(c(cp$optimal_cutpoint, cp$sensitivity, cp$specificity))
}
run_cp(FALSE); run_cp(TRUE)
