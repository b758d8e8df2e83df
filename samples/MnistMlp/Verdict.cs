using System.Globalization;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>The overfitting answer of a run: a short verdict, the evidence, and advice consistent with the settings.</summary>
/// <param name="Answer"><c>Yes</c>, <c>Slightly</c>, <c>No</c>, or <c>Cannot tell</c>.</param>
/// <param name="Evidence">The measured trends the answer rests on.</param>
/// <param name="Advice">What to change, given what the run already used.</param>
/// <param name="BestEpoch">The best epoch by the monitored value, or null without it.</param>
internal sealed record Verdict(string Answer, string Evidence, string Advice, int? BestEpoch)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    /// <summary>The rule, stated in the report beside the answer.</summary>
    public const string Rule =
        "**Yes** when the validation loss has risen at least 5% above its minimum and stayed above it for at least two epochs, " +
        "while training accuracy runs at least 1 point ahead of validation accuracy and validation accuracy has not improved " +
        "in the last epoch. **Slightly** when only some of this holds: the validation loss is at least 2% above its minimum, " +
        "or the accuracy gap is at least 2 points. **No** otherwise. The best epoch is the one with the best monitored value.";

    /// <summary>Judges <paramref name="history"/> by <see cref="Rule"/>.</summary>
    /// <param name="history">The epochs.</param>
    /// <param name="monitor">The monitored value (<c>val_accuracy</c>, <c>val_loss</c>, <c>accuracy</c> or <c>loss</c>).</param>
    /// <param name="settings">The run's settings, for advice that does not repeat what was already done.</param>
    public static Verdict Judge(History history, string monitor, TrainSettings settings)
    {
        IReadOnlyList<EpochMetrics> epochs = history.Epochs;
        EpochMetrics first = epochs[0], last = epochs[^1];
        if (last.ValidationLoss is null || last.ValidationAccuracy is null)
        {
            return new Verdict("Cannot tell",
                "There is no validation data (validation split 0), so nothing measures how the model does on data it does not train on.",
                "Train with --validation-split 0.1 (or more) to judge overfitting.", null);
        }

        bool maximize = monitor.EndsWith("accuracy", StringComparison.Ordinal);
        EpochMetrics best = maximize
            ? epochs.MaxBy(e => e.Get(monitor) ?? double.NegativeInfinity)!
            : epochs.MinBy(e => e.Get(monitor) ?? double.PositiveInfinity)!;
        EpochMetrics lowestLoss = epochs.MinBy(e => e.ValidationLoss!.Value)!;
        EpochMetrics bestAccuracy = epochs.MaxBy(e => e.ValidationAccuracy!.Value)!;
        double rise = (last.ValidationLoss.Value / lowestLoss.ValidationLoss!.Value) - 1;
        int epochsAbove = last.Epoch - lowestLoss.Epoch;
        double gap = (last.Accuracy - last.ValidationAccuracy.Value) * 100;
        bool accuracyStillImproving = bestAccuracy.Epoch == last.Epoch;

        string evidence = string.Create(Inv,
            $"Training loss went from {first.Loss:0.0000} to {last.Loss:0.0000}; validation loss from {first.ValidationLoss:0.0000} to {last.ValidationLoss:0.0000}, ") +
            (epochsAbove == 0
                ? "its lowest so far. "
                : string.Create(Inv, $"{rise * 100:0.0}% above its minimum {lowestLoss.ValidationLoss:0.0000} at epoch {lowestLoss.Epoch} ({epochsAbove} epoch(s) ago). ")) +
            string.Create(Inv, $"In the last epoch training accuracy is {last.Accuracy:P2} and validation accuracy {last.ValidationAccuracy:P2}, a gap of {gap:0.00} points; ") +
            string.Create(Inv, $"validation accuracy peaked at {bestAccuracy.ValidationAccuracy:P2} in epoch {bestAccuracy.Epoch}. ") +
            string.Create(Inv, $"The best epoch by {monitor} is {best.Epoch}.");

        if (epochs.Count == 1)
        {
            return new Verdict("Cannot tell", evidence + " One epoch shows no trend.", "Train for more epochs to see the trends.", best.Epoch);
        }

        bool yes = rise >= 0.05 && epochsAbove >= 2 && gap >= 1 && !accuracyStillImproving;
        bool slightly = !yes && ((rise >= 0.02 && epochsAbove >= 1) || gap >= 2);
        string answer = yes ? "Yes" : slightly ? "Slightly" : "No";
        var advice = new List<string>();
        if (yes || slightly)
        {
            if (accuracyStillImproving)
            {
                advice.Add("Validation accuracy still improved in the last epoch: the rising validation loss comes from growing over-confidence on the images the model gets wrong, not from lost accuracy.");
            }

            if (best.Epoch < last.Epoch)
            {
                advice.Add(settings.EarlyStoppingPatience is { } patience
                    ? string.Create(Inv, $"Early stopping (patience {patience}, on {settings.Monitor}) is on; with its restored weights the model is that of epoch {best.Epoch}.")
                    : string.Create(Inv, $"Train for {best.Epoch} epochs, or add --early-stopping 2 to stop when {monitor} stops improving and keep the best epoch's weights."));
            }

            advice.Add(settings.Dropout == 0
                ? "Add dropout after the hidden layer (--dropout 0.2)."
                : string.Create(Inv, $"Dropout {settings.Dropout:0.##} is already on; a higher rate (--dropout {Math.Min(0.5, settings.Dropout + 0.2):0.##}) regularizes more."));
            if (settings.Hidden.Max() > 64 && yes)
            {
                advice.Add("A smaller hidden layer has less capacity to memorize.");
            }
        }
        else if (best.Epoch == last.Epoch)
        {
            advice.Add(string.Create(Inv, $"The best {monitor} came in the last epoch: more epochs (--epochs {settings.Epochs * 2}) or a wider hidden layer may still help."));
        }
        else
        {
            advice.Add(string.Create(Inv, $"The best {monitor} came in epoch {best.Epoch} and the later epochs did not improve on it, so more epochs would add little; --early-stopping 2 would stop there."));
        }

        return new Verdict(answer, evidence, string.Join(" ", advice), best.Epoch);
    }
}
