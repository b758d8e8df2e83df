using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public class OverfittingVerdictTests
{
    internal static History Build(params (double Loss, double? ValLoss, double Accuracy, double? ValAccuracy)[] epochs)
    {
        var history = new History();
        for (int i = 0; i < epochs.Length; i++)
        {
            var (loss, valLoss, accuracy, valAccuracy) = epochs[i];
            var values = new Dictionary<string, double> { ["loss"] = loss };
            if (!double.IsNaN(accuracy))
            {
                values["accuracy"] = accuracy;
            }

            if (valLoss is { } vl)
            {
                values["val_loss"] = vl;
            }

            if (valAccuracy is { } va)
            {
                values["val_accuracy"] = va;
            }

            history.Add(new EpochMetrics(i + 1, loss, accuracy, valLoss, valAccuracy, 1) { Values = values });
        }

        return history;
    }

    [Fact]
    public void Rising_validation_loss_with_a_gap_and_stalled_accuracy_is_yes()
    {
        var history = Build((0.30, 0.20, 0.90, 0.940), (0.20, 0.15, 0.95, 0.960), (0.10, 0.17, 0.98, 0.955), (0.05, 0.19, 0.99, 0.950));
        OverfittingVerdict verdict = OverfittingVerdict.Judge(history);
        Assert.Equal(OverfittingAnswer.Yes, verdict.Answer);
        Assert.Equal(2, verdict.BestEpoch);
        Assert.Equal(2, verdict.LowestValidationLossEpoch);
        Assert.Equal(0.19 / 0.15 - 1, verdict.ValidationLossRise, 12);
        Assert.Equal(2, verdict.EpochsAboveMinimum);
        Assert.Equal(4, verdict.AccuracyGap, 9);
        Assert.False(verdict.ValidationAccuracyStillImproving);
    }

    [Fact]
    public void Each_condition_of_yes_is_needed()
    {
        // Validation accuracy still best in the last epoch: only slightly.
        var improving = Build((0.30, 0.20, 0.90, 0.940), (0.20, 0.15, 0.95, 0.950), (0.10, 0.17, 0.98, 0.955), (0.05, 0.19, 0.99, 0.960));
        Assert.Equal(OverfittingAnswer.Slightly, OverfittingVerdict.Judge(improving).Answer);
        Assert.True(OverfittingVerdict.Judge(improving).ValidationAccuracyStillImproving);

        // Risen for one epoch only: slightly.
        var once = Build((0.30, 0.20, 0.90, 0.94), (0.20, 0.15, 0.95, 0.96), (0.10, 0.17, 0.98, 0.955));
        Assert.Equal(OverfittingAnswer.Slightly, OverfittingVerdict.Judge(once).Answer);

        // Risen by 1%, with accuracies within a point: no.
        var flat = Build((0.30, 0.20, 0.95, 0.95), (0.20, 0.150, 0.96, 0.961), (0.18, 0.1515, 0.965, 0.958));
        Assert.Equal(OverfittingAnswer.No, OverfittingVerdict.Judge(flat).Answer);

        // A gap of 3 points alone: slightly.
        var gap = Build((0.30, 0.20, 0.95, 0.93), (0.20, 0.15, 0.98, 0.95));
        Assert.Equal(OverfittingAnswer.Slightly, OverfittingVerdict.Judge(gap).Answer);
    }

    [Fact]
    public void A_regression_is_judged_on_the_loss_alone_and_the_monitor_picks_the_best_epoch()
    {
        var history = Build((1.0, 0.8, double.NaN, null), (0.6, 0.5, double.NaN, null), (0.4, 0.55, double.NaN, null), (0.3, 0.60, double.NaN, null));
        OverfittingVerdict verdict = OverfittingVerdict.Judge(history, "val_loss");
        Assert.Equal(OverfittingAnswer.Yes, verdict.Answer);
        Assert.Equal(2, verdict.BestEpoch);
        Assert.True(double.IsNaN(verdict.AccuracyGap));
        Assert.Equal(4, OverfittingVerdict.Judge(history, "loss").BestEpoch);
        Assert.Equal(1, OverfittingVerdict.Judge(history, "loss", MonitorMode.Max).BestEpoch);

        // The default monitor, val_accuracy, which a regression does not have: judged by val_loss, not named with no best epoch.
        OverfittingVerdict byDefault = OverfittingVerdict.Judge(history);
        Assert.Equal("val_loss", byDefault.Monitor);
        Assert.Equal(2, byDefault.BestEpoch);
        Assert.Equal(OverfittingAnswer.Yes, byDefault.Answer);
    }

    [Fact]
    public void A_diverged_run_cannot_be_judged()
    {
        OverfittingVerdict verdict = OverfittingVerdict.Judge(Build((0.3, 0.2, 0.9, 0.94), (double.NaN, double.NaN, 0.1, 0.1)));
        Assert.Equal(OverfittingAnswer.CannotTell, verdict.Answer);
        Assert.Contains("not finite", verdict.Evidence, StringComparison.Ordinal);

        // A NaN epoch is never the best one, first or not (a NaN first epoch stayed the best: nothing compared beat it).
        Assert.Equal(2, OverfittingVerdict.Judge(Build((double.NaN, double.NaN, 0.1, 0.1), (0.3, 0.2, 0.9, 0.94), (0.2, 0.3, 0.95, 0.93)), "val_loss").BestEpoch);
        Assert.Null(OverfittingVerdict.Judge(Build((double.NaN, double.NaN, 0.1, 0.1), (double.NaN, double.NaN, 0.1, 0.1)), "val_loss").BestEpoch);
    }

    [Fact]
    public void Without_validation_or_with_one_epoch_it_cannot_tell()
    {
        Assert.Equal(OverfittingAnswer.CannotTell, OverfittingVerdict.Judge(Build((0.3, null, 0.9, null), (0.2, null, 0.95, null))).Answer);
        OverfittingVerdict one = OverfittingVerdict.Judge(Build((0.3, 0.2, 0.9, 0.94)));
        Assert.Equal(OverfittingAnswer.CannotTell, one.Answer);
        Assert.Equal("Cannot tell", one.AnswerText);
        Assert.Throws<ArgumentException>(() => OverfittingVerdict.Judge(new History()));
        Assert.Throws<ArgumentException>(() => OverfittingVerdict.Judge(Build((0.3, 0.2, 0.9, 0.94)), "val_f1"));
    }
}
