using System.Globalization;
using System.Text;

namespace NeuralCore.Training;

/// <summary>Whether a training run overfits, by <see cref="OverfittingVerdict.Rule"/>.</summary>
public enum OverfittingAnswer
{
    /// <summary>No validation data, or a single epoch: nothing shows a trend.</summary>
    CannotTell,

    /// <summary>No sign of overfitting.</summary>
    No,

    /// <summary>Some signs: the validation loss has turned up a little, or training runs clearly ahead of validation.</summary>
    Slightly,

    /// <summary>The validation loss keeps rising while training still improves and validation accuracy no longer does.</summary>
    Yes,
}

/// <summary>
/// A judgement of overfitting read off a <see cref="History"/> by a stated rule (<see cref="Rule"/>), with the measured
/// trends it rests on: the rise of the validation loss after its minimum, the gap between training and validation
/// accuracy, and the best epoch by a monitored value. Where only some epochs validate
/// (<see cref="FitOptions.ValidationFrequency"/>), "the last epoch" below is the last that validated.
/// </summary>
/// <param name="Answer">The answer.</param>
/// <param name="Monitor">The value that picked <paramref name="BestEpoch"/>.</param>
/// <param name="BestEpoch">The epoch with the best monitored value, or null when the history does not report it.</param>
/// <param name="LowestValidationLossEpoch">The epoch of the lowest validation loss, or null without validation data.</param>
/// <param name="ValidationLossRise">The last validation loss over the lowest, minus 1 (0.05 = 5% above), or NaN.</param>
/// <param name="EpochsAboveMinimum">Epochs since the lowest validation loss.</param>
/// <param name="AccuracyGap">Training minus validation accuracy in the last epoch, in points (NaN without accuracy).</param>
/// <param name="BestValidationAccuracyEpoch">The epoch of the highest validation accuracy, or null without it.</param>
/// <param name="Evidence">The trends in a few sentences.</param>
public sealed record OverfittingVerdict(
    OverfittingAnswer Answer,
    string Monitor,
    int? BestEpoch,
    int? LowestValidationLossEpoch,
    double ValidationLossRise,
    int EpochsAboveMinimum,
    double AccuracyGap,
    int? BestValidationAccuracyEpoch,
    string Evidence)
{
    /// <summary>The rule, to print beside the answer.</summary>
    public const string Rule =
        "Yes when the validation loss has risen at least 5% above its minimum and stayed above it for at least two epochs, " +
        "while training accuracy runs at least 1 point ahead of validation accuracy and validation accuracy did not improve " +
        "in the last epoch. Slightly when only part of this holds: the validation loss is at least 2% above its minimum, " +
        "or the accuracy gap is at least 2 points. No otherwise. Without accuracy (a regression) only the loss counts. " +
        "The best epoch is the one with the best monitored value.";

    /// <summary>Whether validation accuracy was at its highest in the last epoch.</summary>
    public bool ValidationAccuracyStillImproving { get; init; }

    /// <summary>The answer in words: Yes, Slightly, No or Cannot tell.</summary>
    public string AnswerText => Answer == OverfittingAnswer.CannotTell ? "Cannot tell" : Answer.ToString();

    /// <summary>Judges a history by <see cref="Rule"/>.</summary>
    /// <param name="history">The epochs of a <c>Fit</c>; at least one.</param>
    /// <param name="monitor">The value that picks the best epoch: <c>val_accuracy</c> (default; <c>val_loss</c> for a history that has no validation accuracy, a regression's), <c>val_loss</c>, <c>loss</c>, or another metric.</param>
    /// <param name="mode">Whether the monitored value improves going down or up; <see cref="MonitorMode.Auto"/> decides from the name.</param>
    /// <returns>The verdict.</returns>
    /// <exception cref="ArgumentException">The history is empty, or the monitor is unknown.</exception>
    public static OverfittingVerdict Judge(History history, string monitor = "val_accuracy", MonitorMode mode = MonitorMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(history);
        Monitoring.CheckName(monitor, nameof(monitor));
        IReadOnlyList<EpochMetrics> epochs = history.Epochs;
        if (epochs.Count == 0)
        {
            throw new ArgumentException("The history holds no epoch to judge.", nameof(history));
        }

        // A regression's history has no accuracy: the default then named val_accuracy as the monitor and no best epoch.
        if (monitor == "val_accuracy" && epochs.All(e => e.Get(monitor) is null or double.NaN))
        {
            monitor = "val_loss";
        }

        bool maximize = Monitoring.Maximizes(monitor, mode);
        EpochMetrics? best = null;
        foreach (EpochMetrics e in epochs)
        {
            // A NaN epoch (a diverged loss, the R² of one sample) is never the best: taken first, nothing compared beat it.
            if (e.Get(monitor) is { } v && !double.IsNaN(v) && (best is null || (maximize ? v > best.Get(monitor)!.Value : v < best.Get(monitor)!.Value)))
            {
                best = e;
            }
        }

        // With FitOptions.ValidationFrequency only some epochs validate: the rule compares those (the last epoch may not).
        EpochMetrics[] validated = [.. epochs.Where(e => e.ValidationLoss is not null)];
        EpochMetrics first = validated.Length > 0 ? validated[0] : epochs[0], last = validated.Length > 0 ? validated[^1] : epochs[^1];
        if (last.ValidationLoss is null)
        {
            return new OverfittingVerdict(OverfittingAnswer.CannotTell, monitor, best?.Epoch, null, double.NaN, 0, double.NaN, null,
                "There is no validation data, so nothing measures how the model does on data it does not train on.");
        }

        if (!double.IsFinite(last.ValidationLoss.Value) || epochs.Any(e => e.ValidationLoss is { } v && !double.IsFinite(v)))
        {
            return new OverfittingVerdict(OverfittingAnswer.CannotTell, monitor, best?.Epoch, null, double.NaN, 0, double.NaN, null,
                "The validation loss is not finite (NaN or infinite) in some epoch: training diverged, so its trends say nothing about overfitting.");
        }

        EpochMetrics lowest = epochs.Where(e => e.ValidationLoss is not null).MinBy(e => e.ValidationLoss!.Value)!;
        bool accuracy = last.ValidationAccuracy is not null && !double.IsNaN(last.Accuracy);
        EpochMetrics? bestAccuracy = accuracy ? epochs.Where(e => e.ValidationAccuracy is not null).MaxBy(e => e.ValidationAccuracy!.Value) : null;
        // A zero minimum (a perfect fit of the validation data) makes any later loss an infinite rise.
        double rise = lowest.ValidationLoss!.Value == 0
            ? (last.ValidationLoss.Value == 0 ? 0 : double.PositiveInfinity)
            : (last.ValidationLoss.Value / lowest.ValidationLoss.Value) - 1;
        int above = last.Epoch - lowest.Epoch;
        double gap = accuracy ? (last.Accuracy - last.ValidationAccuracy!.Value) * 100 : double.NaN;
        bool stillImproving = bestAccuracy is not null && bestAccuracy.Epoch == last.Epoch;

        CultureInfo inv = CultureInfo.InvariantCulture;
        var evidence = new StringBuilder();
        evidence.Append(inv, $"Training loss went from {first.Loss:0.0000} to {last.Loss:0.0000}; validation loss from {first.ValidationLoss:0.0000} to {last.ValidationLoss:0.0000}, ");
        evidence.Append(above == 0
            ? "its lowest so far."
            : string.Create(inv, $"{rise * 100:0.0}% above its minimum {lowest.ValidationLoss:0.0000} at epoch {lowest.Epoch} ({above} epoch(s) before the last)."));
        if (accuracy)
        {
            evidence.Append(inv, $" In the last epoch training accuracy is {last.Accuracy * 100:0.00}% and validation accuracy {last.ValidationAccuracy * 100:0.00}%, a gap of {gap:0.00} points;")
                    .Append(inv, $" validation accuracy peaked at {bestAccuracy!.ValidationAccuracy * 100:0.00}% in epoch {bestAccuracy.Epoch}.");
        }

        if (best is not null)
        {
            evidence.Append(inv, $" The best epoch by {monitor} is {best.Epoch}.");
        }

        OverfittingAnswer answer;
        if (validated.Length == 1)
        {
            evidence.Append(epochs.Count == 1 ? " One epoch shows no trend." : " One validated epoch shows no trend.");
            answer = OverfittingAnswer.CannotTell;
        }
        else
        {
            bool lossTurned = rise >= 0.05 && above >= 2;
            bool yes = accuracy ? lossTurned && gap >= 1 && !stillImproving : lossTurned;
            bool slightly = (rise >= 0.02 && above >= 1) || (accuracy && gap >= 2);
            answer = yes ? OverfittingAnswer.Yes : slightly ? OverfittingAnswer.Slightly : OverfittingAnswer.No;
        }

        return new OverfittingVerdict(answer, monitor, best?.Epoch, lowest.Epoch, rise, above, gap, bestAccuracy?.Epoch, evidence.ToString())
        {
            ValidationAccuracyStillImproving = stillImproving,
        };
    }
}
