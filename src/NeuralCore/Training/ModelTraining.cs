using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Models;
using NeuralCore.Randomness;

namespace NeuralCore.Training;

/// <summary>The result of <see cref="ModelTraining.Evaluate"/>.</summary>
/// <param name="Loss">The mean loss over the samples.</param>
/// <param name="Accuracy">The fraction classified correctly.</param>
/// <param name="Count">The number of samples.</param>
public readonly record struct Evaluation(double Loss, double Accuracy, int Count);

/// <summary>Keras's training loop for a compiled <see cref="Sequential"/>: Fit, Evaluate, class predictions.</summary>
public static class ModelTraining
{
    /// <summary>
    /// Trains the model for <see cref="FitOptions.Epochs"/> epochs, Keras's <c>model.fit</c>: the data (minus a
    /// validation tail) is reshuffled every epoch from the seed, cut into batches and given to
    /// <see cref="Sequential.TrainStep"/>; after each epoch the validation data is evaluated and callbacks run.
    /// A step allocates nothing. Training stops early when a callback asks or the loss becomes NaN or infinite
    /// (the update of that step is skipped, so the model keeps its last finite weights).
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The samples, <c>[count, InputSize]</c> row-major.</param>
    /// <param name="labels">The <c>[count]</c> class labels, each in <c>[0, OutputSize)</c>.</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <returns>The per-epoch history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model (both shapes are named), or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model holds the weights after the last finished step.</exception>
    public static History Fit(this Sequential model, float[] inputs, int[] labels, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        options ??= new FitOptions();
        if (!model.IsCompiled)
        {
            throw new InvalidOperationException("The model is not compiled: call Compile(loss, optimizer) before Fit.");
        }

        Validate(options);
        int count = CheckData(model, inputs, labels, nameof(inputs), nameof(labels));
        int features = model.InputSize, classes = model.OutputSize;

        ReadOnlyMemory<float> trainX, valX = default;
        ReadOnlyMemory<int> trainY, valY = default;
        int trainCount, valCount;
        if (options.ValidationInputs is not null || options.ValidationLabels is not null)
        {
            if (options.ValidationInputs is null || options.ValidationLabels is null)
            {
                throw new ArgumentException("Give both ValidationInputs and ValidationLabels, or neither.", nameof(options));
            }

            valCount = CheckData(model, options.ValidationInputs, options.ValidationLabels, "ValidationInputs", "ValidationLabels");
            (trainX, trainY, trainCount) = (inputs, labels, count);
            (valX, valY) = (options.ValidationInputs, options.ValidationLabels);
        }
        else
        {
            // Keras: the last samples validate, cut before shuffling; an empty part is an error, as in Keras.
            trainCount = options.ValidationSplit > 0 ? Dataset.SplitIndex(count, options.ValidationSplit) : count;
            valCount = count - trainCount;
            trainX = inputs.AsMemory(0, trainCount * features);
            trainY = labels.AsMemory(0, trainCount);
            valX = inputs.AsMemory(trainCount * features);
            valY = labels.AsMemory(trainCount);
        }

        if (trainCount == 0)
        {
            throw new ArgumentException(
                "Fit needs at least one training sample; inputs and labels are empty.", nameof(inputs));
        }

        int batchSize = Math.Min(options.BatchSize, trainCount);
        int steps = (trainCount + batchSize - 1) / batchSize;
        var history = new History();
        var context = new TrainingContext(model, options.Epochs, steps, trainCount, history);
        ulong seed = options.Seed ?? Xoshiro128.Derive(model.Seed, 0x5348_5546); // "SHUF"

        int[] order = new int[trainCount];
        float[] batchX = new float[batchSize * features];
        int[] batchY = new int[batchSize];
        model.Compile(model.Loss!, model.Optimizer!, batchSize, keepOptimizerState: true);

        foreach (Callback callback in options.Callbacks)
        {
            callback.OnTrainBegin(context);
        }

        for (int epoch = 1; epoch <= options.Epochs && !context.StopRequested; epoch++)
        {
            foreach (Callback callback in options.Callbacks)
            {
                callback.OnEpochBegin(epoch, context);
            }

            long start = Stopwatch.GetTimestamp();
            if (options.Shuffle)
            {
                Permutation.Fill(order, Xoshiro128.Derive(seed, (ulong)epoch));
            }
            else
            {
                for (int i = 0; i < trainCount; i++)
                {
                    order[i] = i;
                }
            }

            double lossSum = 0;
            long correct = 0;
            int seen = 0;
            bool diverged = false;
            ReadOnlySpan<float> xs = trainX.Span;
            ReadOnlySpan<int> ys = trainY.Span;
            for (int step = 1; step <= steps; step++)
            {
                options.CancellationToken.ThrowIfCancellationRequested();
                int first = (step - 1) * batchSize;
                int n = Math.Min(batchSize, trainCount - first);
                for (int b = 0; b < n; b++)
                {
                    int index = order[first + b];
                    xs.Slice(index * features, features).CopyTo(batchX.AsSpan(b * features, features));
                    batchY[b] = ys[index];
                }

                TrainStepResult result = model.TrainStep(batchX.AsSpan(0, n * features), batchY.AsSpan(0, n), n);
                if (!double.IsFinite(result.Loss))
                {
                    context.StopTraining(string.Create(CultureInfo.InvariantCulture,
                        $"the loss became {result.Loss} at epoch {epoch}, step {step}: training stopped and the weights are those before that step (lower the learning rate or check the inputs)"));
                    diverged = true;
                    break;
                }

                lossSum += result.Loss * n;
                correct += result.Correct;
                seen += n;
                foreach (Callback callback in options.Callbacks)
                {
                    callback.OnBatchEnd(epoch, step, result, context);
                }
            }

            if (diverged && seen == 0)
            {
                break;
            }

            double? valLoss = null, valAccuracy = null;
            if (valCount > 0)
            {
                Evaluation validation = model.Evaluate(valX.Span, valY.Span, valCount, batchSize: Math.Max(batchSize, 256));
                (valLoss, valAccuracy) = (validation.Loss, validation.Accuracy);
            }

            var metrics = new EpochMetrics(epoch, lossSum / seen, (double)correct / seen, valLoss, valAccuracy,
                Stopwatch.GetElapsedTime(start).TotalSeconds);
            history.Add(metrics);
            foreach (Callback callback in options.Callbacks)
            {
                callback.OnEpochEnd(metrics, context);
            }
        }

        foreach (Callback callback in options.Callbacks)
        {
            callback.OnTrainEnd(context);
        }

        return history;
    }

    /// <summary>The mean loss and the accuracy on labelled samples, in inference mode (Keras's <c>model.evaluate</c>).</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[count]</c> labels.</param>
    /// <param name="count">The number of samples; non-negative.</param>
    /// <param name="batchSize">Samples per forward pass (memory, not results, depends on it); positive.</param>
    /// <returns>The loss, accuracy and count.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model, or a label is out of range.</exception>
    public static Evaluation Evaluate(this Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var loss = model.Loss ?? throw new InvalidOperationException("The model is not compiled: Evaluate needs its loss.");
        CheckSpans(model, inputs.Length, labels.Length, count);
        if (count == 0)
        {
            return new Evaluation(double.NaN, double.NaN, 0);
        }

        int features = model.InputSize, classes = model.OutputSize;
        int chunk = Math.Min(batchSize, count);
        float[] outputs = ArrayPool<float>.Shared.Rent(chunk * classes);
        try
        {
            double lossSum = 0;
            long correct = 0;
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                Span<float> y = outputs.AsSpan(0, n * classes);
                model.Infer(inputs.Slice(first * features, n * features), y, n);
                ReadOnlySpan<int> batchLabels = labels.Slice(first, n);
                lossSum += loss.Sum(y, batchLabels, n, classes);
                correct += Metrics.CountCorrect(y, batchLabels, n, classes);
            }

            return new Evaluation(lossSum / count, (double)correct / count, count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputs);
        }
    }

    /// <summary>The predicted class (argmax) of every sample.</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="count">The number of samples; non-negative.</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[count]</c> predicted classes.</returns>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> is shorter than its shape.</exception>
    public static int[] PredictClasses(this Sequential model, ReadOnlySpan<float> inputs, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckSpans(model, inputs.Length, count, count);
        int features = model.InputSize, classes = model.OutputSize;
        int[] predictions = new int[count];
        int chunk = Math.Max(1, Math.Min(batchSize, count));
        float[] outputs = ArrayPool<float>.Shared.Rent(chunk * classes);
        try
        {
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                model.Infer(inputs.Slice(first * features, n * features), outputs.AsSpan(0, n * classes), n);
                Metrics.ArgMax(outputs.AsSpan(0, n * classes), predictions.AsSpan(first, n), n, classes);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputs);
        }

        return predictions;
    }

    /// <summary>The confusion matrix of the model's predictions on labelled samples.</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[count]</c> labels.</param>
    /// <param name="count">The number of samples.</param>
    /// <returns>The matrix, rows true classes.</returns>
    public static ConfusionMatrix ConfusionMatrix(this Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckSpans(model, inputs.Length, labels.Length, count);
        return new ConfusionMatrix(labels[..count], model.PredictClasses(inputs, count), model.OutputSize);
    }

    private static void Validate(FitOptions options)
    {
        if (options.Epochs <= 0)
        {
            throw new ArgumentException($"Expected a positive number of epochs. Received: epochs={options.Epochs}.", nameof(options));
        }

        if (options.BatchSize <= 0)
        {
            throw new ArgumentException($"Expected a positive batch size. Received: batchSize={options.BatchSize}.", nameof(options));
        }

        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
        {
            throw new ArgumentException(
                $"Expected a validation split in [0, 1). Received: validationSplit={options.ValidationSplit.ToString(CultureInfo.InvariantCulture)}.", nameof(options));
        }
    }

    private static int CheckData(Sequential model, float[] inputs, int[] labels, string inputsName, string labelsName)
    {
        int features = model.InputSize;
        if (inputs.Length % features != 0)
        {
            throw new ArgumentException(
                $"{inputsName} holds {inputs.Length} floats, which is not a whole number of samples of the model's {features} input features (shape [?, {features}]).", inputsName);
        }

        int count = inputs.Length / features;
        if (labels.Length != count)
        {
            throw new ArgumentException(
                $"{inputsName} has shape [{count}, {features}] but {labelsName} has shape [{labels.Length}]: they must hold as many samples.", labelsName);
        }

        int classes = model.OutputSize;
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
            {
                throw new ArgumentException(
                    $"{labelsName}[{i}] = {labels[i]} is outside [0, {classes}): the model outputs {classes} classes.", labelsName);
            }
        }

        return count;
    }

    // inputs and labels are the spans' lengths, named after the spans they check.
    private static void CheckSpans(Sequential model, int inputs, int labels, int count)
    {
        long needed = (long)count * model.InputSize;
        if (inputs < needed)
        {
            throw new ArgumentException(
                $"inputs holds {inputs} floats but [count={count}, {model.InputSize}] needs {needed}.", nameof(inputs));
        }

        if (labels < count)
        {
            throw new ArgumentException($"labels holds {labels} values but count is {count}.", nameof(labels));
        }
    }
}
