using System.Globalization;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>The overfitting answer of a run (the library's <see cref="OverfittingVerdict"/>) with advice that fits the run's settings.</summary>
/// <param name="Answer"><c>Yes</c>, <c>Slightly</c>, <c>No</c>, or <c>Cannot tell</c>.</param>
/// <param name="Evidence">The measured trends the answer rests on.</param>
/// <param name="Advice">What to change, given what the run already used.</param>
/// <param name="BestEpoch">The best epoch by the monitored value, or null without it.</param>
internal sealed record Verdict(string Answer, string Evidence, string Advice, int? BestEpoch)
{
    private static readonly CultureInfo Inv = Formats.Culture;

    // Below this training accuracy a ten-digit classifier has learned next to nothing: guessing one digit for every
    // image scores about 10% (11% for the commonest, 1), and the smallest model of the notebook passes 80% in one epoch.
    private const double ChanceAccuracyBound = 0.2;

    /// <summary>Judges <paramref name="history"/> by <see cref="OverfittingVerdict.Rule"/> and advises.</summary>
    /// <param name="history">The epochs.</param>
    /// <param name="monitor">The monitored value (<c>val_accuracy</c>, <c>val_loss</c>, <c>accuracy</c> or <c>loss</c>).</param>
    /// <param name="settings">The run's settings, for advice that does not repeat what was already done.</param>
    public static Verdict Judge(History history, string monitor, TrainSettings settings)
    {
        OverfittingVerdict verdict = OverfittingVerdict.Judge(history, monitor);
        var advice = new List<string>();
        int last = history.Epochs[^1].Epoch;
        if (history.Epochs[^1].Accuracy is var chance && chance < ChanceAccuracyBound)
        {
            // A model at chance neither fits nor overfits, whatever its losses did: Adam at a rate of 10 ended at 10% with
            // a validation loss that rose, and was judged "Slightly" overfitting with advice to add dropout and an L2
            // penalty; SGD at a rate of 10 blew epoch 1's loss up to 33, fell to 2.56 by epoch 2 with every ReLU dead
            // and one digit predicted for every image, and was told "more epochs may still help".
            return new Verdict("Cannot tell", verdict.Evidence, NotLearning(history, settings) ?? string.Create(Inv,
                $"Training accuracy is {chance * 100:0.00}% in the last epoch, near the 10% of guessing one digit for every image: the model is not learning, so overfitting cannot be judged and more epochs will not help; lower the learning rate (--learning-rate {settings.EffectiveLearningRate / 10:G3})."),
                verdict.BestEpoch);
        }

        switch (verdict.Answer)
        {
            case OverfittingAnswer.CannotTell:
                advice.Add(verdict.LowestValidationLossEpoch is null
                    ? "Train with --validation-split 0.1 (or more) to judge overfitting."
                    : "Train for more epochs to see the trends.");
                break;
            case OverfittingAnswer.Yes or OverfittingAnswer.Slightly:
                if (verdict.ValidationAccuracyStillImproving)
                {
                    advice.Add("Validation accuracy still improved in the last epoch: the rising validation loss comes from growing over-confidence on the images the model gets wrong, not from lost accuracy.");
                }

                if (verdict.BestEpoch is { } best && best < last)
                {
                    advice.Add(EarlyStoppingAdvice(history, settings, best, last) ?? string.Create(Inv,
                        $"Train for {best} epochs, or add --early-stopping 2 to stop when {monitor} stops improving and keep the best epoch's weights."));
                }

                advice.Add(settings.Dropout == 0
                    ? "Add dropout after the hidden layer (--dropout 0.2)."
                    : string.Create(Inv, $"Dropout {settings.Dropout:0.##} is already on; a higher rate (--dropout {Math.Min(0.5, settings.Dropout + 0.2):0.##}) regularizes more."));
                advice.Add(settings.L2 == 0
                    ? "Penalize large weights (--l2 1e-4, Keras's kernel_regularizer=L2(1e-4))."
                    : string.Create(Inv, $"An L2 penalty of {settings.L2:G3} is already on; a larger factor (--l2 {Math.Min(1, settings.L2 * 10):G3}) shrinks the weights more."));
                if (verdict.Answer == OverfittingAnswer.Yes && settings.Hidden.Max() > 64)
                {
                    advice.Add("A smaller hidden layer has less capacity to memorize.");
                }

                break;
            default:
                if (NotLearning(history, settings) is { } stuck)
                {
                    advice.Add(stuck);
                    break;
                }

                advice.Add(verdict.BestEpoch is not { } earlier || earlier == last
                    ? string.Create(Inv, $"The best {monitor} came in the last epoch: more epochs (--epochs {settings.Epochs * 2}) or a wider hidden layer may still help.")
                    : EarlyStoppingAdvice(history, settings, earlier, last) ?? (last - earlier == 1
                        // One epoch's dip is no trend: the notebook preset's epoch 5 dipped below epoch 4, and 15
                        // epochs then gained 1.3 points (this said more epochs would add little).
                        ? string.Create(Inv,
                            $"The best {monitor} came in epoch {earlier}, one epoch before the last: one lower epoch is not yet a trend. More epochs (--epochs {settings.Epochs * 2}) with --early-stopping 2 would tell, keeping the best epoch's weights.")
                        : string.Create(Inv,
                            $"The best {monitor} came in epoch {earlier} and the {last - earlier} epochs after it did not improve on it, so more epochs would add little; --early-stopping 2 would stop there.")));
                break;
        }

        return new Verdict(verdict.AnswerText, verdict.Evidence, string.Join(" ", advice), verdict.BestEpoch);
    }

    // A run whose training loss did not fall is not learning (SGD at a rate of 10 ended at 10% with "more epochs may
    // still help"); null when it fell.
    private static string? NotLearning(History history, TrainSettings settings) =>
        history.Epochs.Count > 1 && !(history.Epochs[^1].Loss < history.Epochs[0].Loss)
            ? string.Create(Inv,
                $"The training loss did not fall ({history.Epochs[0].Loss:0.####} in epoch 1, {history.Epochs[^1].Loss:0.####} in epoch {history.Epochs[^1].Epoch}): the model is not learning, so more epochs will not help; lower the learning rate (--learning-rate {settings.EffectiveLearningRate / 10:G3}).")
            : null;

    // With early stopping on, the weights of the best epoch were put back when training ended (Keras 3), stopped early or
    // not, and the test results are theirs: said whatever the answer (a "No" run advised adding --early-stopping 2 to a
    // run that had it, and never said its test model came from an earlier epoch). Null without early stopping.
    private static string? EarlyStoppingAdvice(History history, TrainSettings settings, int best, int last)
    {
        bool stoppedEarly = history.StopReason?.StartsWith("early stopping", StringComparison.Ordinal) == true;
        return (settings.EarlyStoppingPatience, stoppedEarly) switch
        {
            ({ } patience, true) => string.Create(Inv, $"Early stopping (patience {patience}, on {settings.Monitor}) stopped the run and restored the weights of epoch {best}, which the test results use."),
            ({ } patience, false) => string.Create(Inv, $"Early stopping (patience {patience}) never triggered; the weights of the best epoch, {best}, were restored when training ended (as Keras 3's restore_best_weights does), and the test results use them. The {last - best} epoch(s) after it were wasted: train for {best} epochs, or lower the patience."),
            _ => null,
        };
    }
}
