using System.Diagnostics;
using System.Globalization;
using NeuralCore.Models;
using NeuralCore.Training;

namespace MnistMlp;

/// <summary>
/// Keras-like progress: on a terminal a step counter with a bar redrawn in place; when output is redirected, one
/// line per epoch.
/// </summary>
internal sealed class ConsoleProgress(TextWriter output, bool interactive) : Callback
{
    private readonly Stopwatch _epochClock = new();
    private long _lastDraw;
    private double _lossSum;
    private long _correct;
    private long _seen;

    public override void OnEpochBegin(int epoch, TrainingContext context)
    {
        _epochClock.Restart();
        _lastDraw = 0;
        (_lossSum, _correct, _seen) = (0, 0, 0);
        if (interactive)
        {
            output.WriteLine($"Epoch {epoch}/{context.Epochs}");
        }
    }

    public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context)
    {
        _lossSum += result.Loss * result.Batch;
        _correct += result.Correct;
        _seen += result.Batch;
        long now = _epochClock.ElapsedMilliseconds;
        if (!interactive || (now - _lastDraw < 100 && batch != context.StepsPerEpoch))
        {
            return;
        }

        _lastDraw = now;
        int width = 30;
        int done = (int)((long)width * batch / context.StepsPerEpoch);
        string bar = batch == context.StepsPerEpoch
            ? new string('=', width)
            : new string('=', Math.Max(0, done - 1)) + ">" + new string('.', width - Math.Max(1, done));
        string steps = context.StepsPerEpoch.ToString(CultureInfo.InvariantCulture);
        output.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{batch.ToString(CultureInfo.InvariantCulture).PadLeft(steps.Length)}/{steps} [{bar}] {now / 1000.0:0.0}s - loss: {_lossSum / _seen:0.0000} - accuracy: {(double)_correct / _seen:0.0000}"));
    }

    public override void OnEpochEnd(EpochMetrics metrics, TrainingContext context)
    {
        string validation = metrics.ValidationLoss is { } vl
            ? string.Create(CultureInfo.InvariantCulture, $" - val_loss: {vl:0.0000} - val_accuracy: {metrics.ValidationAccuracy:0.0000}")
            : string.Empty;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{metrics.Seconds:0.00}s - loss: {metrics.Loss:0.0000} - accuracy: {metrics.Accuracy:0.0000}{validation}");
        if (interactive)
        {
            output.WriteLine($"\r{context.StepsPerEpoch}/{context.StepsPerEpoch} [{new string('=', 30)}] {line}");
        }
        else
        {
            output.WriteLine($"Epoch {metrics.Epoch}/{context.Epochs} - {line}");
        }
    }
}
