using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Randomness;

namespace NeuralCore.Training;

/// <summary>The result of <see cref="ModelTraining.Evaluate(Models.Sequential, ReadOnlySpan{float}, ReadOnlySpan{int}, int, int)"/>.</summary>
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
        CheckCompiled(model, "Fit");
        Validate(options);
        CheckData(model, inputs, labels, nameof(inputs), nameof(labels));
        return FitCore(model, new SampleSource(inputs, labels, model.InputSize), options);
    }

    /// <summary>
    /// Trains the model on a <see cref="Dataset"/>, as <see cref="Fit(Sequential, float[], int[], FitOptions?)"/>
    /// does on arrays. A dataset stored as bytes (MNIST as <see cref="Mnist"/> loads it) is read and scaled batch by
    /// batch, never converted whole.
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="train">The training samples (and, with <see cref="FitOptions.ValidationSplit"/>, the validation tail).</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <returns>The per-epoch history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model (both shapes are named), or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model holds the weights after the last finished step.</exception>
    public static History Fit(this Sequential model, Dataset train, FitOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        options ??= new FitOptions();
        CheckCompiled(model, "Fit");
        Validate(options);
        CheckDataset(model, train, nameof(train));
        return FitCore(model, train.Source, options);
    }

    private static History FitCore(Sequential model, SampleSource data, FitOptions options)
    {
        int count = data.Count;
        int features = model.InputSize;
        SampleSource train, validation = default;
        int trainCount, valCount;
        if (options.ValidationInputs is not null || options.ValidationLabels is not null)
        {
            if (options.ValidationInputs is null || options.ValidationLabels is null)
            {
                throw new ArgumentException("Give both ValidationInputs and ValidationLabels, or neither.", nameof(options));
            }

            CheckData(model, options.ValidationInputs, options.ValidationLabels, "ValidationInputs", "ValidationLabels");
            (train, trainCount) = (data, count);
            validation = new SampleSource(options.ValidationInputs, options.ValidationLabels, features);
            valCount = validation.Count;
        }
        else
        {
            // Keras: the last samples validate, cut before shuffling; an empty part is an error, as in Keras.
            trainCount = options.ValidationSplit > 0 ? Dataset.SplitIndex(count, options.ValidationSplit) : count;
            valCount = count - trainCount;
            train = data.Slice(0, trainCount);
            validation = data.Slice(trainCount, valCount);
        }

        if (trainCount == 0)
        {
            throw new ArgumentException(
                "Fit needs at least one training sample; inputs and labels are empty.", nameof(data));
        }

        int batchSize = Math.Min(options.BatchSize, trainCount);
        int steps = (trainCount + batchSize - 1) / batchSize;
        var history = new History();
        var context = new TrainingContext(model, options.Epochs, steps, trainCount, history);
        ulong seed = options.Seed ?? Xoshiro128.Derive(model.Seed, 0x5348_5546); // "SHUF"

        int[] order = new int[trainCount];
        float[] batchX = new float[batchSize * features];
        int[] batchY = new int[batchSize];
        var gather = new BatchGather(train, order, batchX, batchY);
        model.Compile(model.Loss!, model.Optimizer!, batchSize, keepOptimizerState: true);

        foreach (Callback callback in options.Callbacks)
        {
            callback.OnTrainBegin(context);
        }

        for (int epoch = options.InitialEpoch + 1; epoch <= options.Epochs && !context.StopRequested; epoch++)
        {
            foreach (Callback callback in options.Callbacks)
            {
                callback.OnEpochBegin(epoch, context);
            }

            long start = Stopwatch.GetTimestamp();
            if (options.Shuffle)
            {
                // The model's count of epochs trained, not this call's epoch number: a second Fit call, or a resumed
                // run, draws the orders that come next rather than repeating the first ones.
                Permutation.Fill(order, Xoshiro128.Derive(seed, (ulong)(model.EpochsTrained + 1)));
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
            for (int step = 1; step <= steps; step++)
            {
                options.CancellationToken.ThrowIfCancellationRequested();
                int first = (step - 1) * batchSize;
                int n = Math.Min(batchSize, trainCount - first);
                gather.Run(first, n);

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
                Evaluation result = EvaluateCore(model, validation, Math.Max(batchSize, 256));
                (valLoss, valAccuracy) = (result.Loss, result.Accuracy);
            }

            model.EpochsTrained++;
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

    /// <summary>The mean loss and the accuracy on a <see cref="Dataset"/>, in inference mode (Keras's <c>model.evaluate</c>).</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="data">The labelled samples.</param>
    /// <param name="batchSize">Samples per forward pass (memory, not results, depends on it); positive.</param>
    /// <returns>The loss, accuracy and count.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model, or a label is out of range.</exception>
    public static Evaluation Evaluate(this Sequential model, Dataset data, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckCompiled(model, "Evaluate");
        CheckDataset(model, data, nameof(data));
        return EvaluateCore(model, data.Source, batchSize);
    }

    /// <summary>As <see cref="Evaluate(Sequential, Dataset, int)"/> in batches of 1,000.</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="data">The labelled samples.</param>
    /// <returns>The loss, accuracy and count.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model, or a label is out of range.</exception>
    public static Evaluation Evaluate(this Sequential model, Dataset data) => model.Evaluate(data, 1000);

    private static Evaluation EvaluateCore(Sequential model, SampleSource data, int batchSize)
    {
        int count = data.Count;
        if (count == 0)
        {
            return new Evaluation(double.NaN, double.NaN, 0);
        }

        ILoss loss = model.Loss!;
        int features = model.InputSize, classes = model.OutputSize;
        int chunk = Math.Min(batchSize, count);
        float[] outputs = ArrayPool<float>.Shared.Rent(chunk * classes);
        float[] inputs = data.IsBytes ? ArrayPool<float>.Shared.Rent(chunk * features) : [];
        try
        {
            double lossSum = 0;
            long correct = 0;
            ReadOnlySpan<int> labels = data.Labels.Span;
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                if (!data.TryGetFloats(first, n, out ReadOnlySpan<float> x))
                {
                    data.CopyFeatures(first, n, inputs);
                    x = inputs.AsSpan(0, n * features);
                }

                Span<float> y = outputs.AsSpan(0, n * classes);
                model.Infer(x, y, n);
                ReadOnlySpan<int> batchLabels = labels.Slice(first, n);
                lossSum += loss.Sum(y, batchLabels, n, classes);
                correct += Metrics.CountCorrect(y, batchLabels, n, classes);
            }

            return new Evaluation(lossSum / count, (double)correct / count, count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputs);
            if (inputs.Length > 0)
            {
                ArrayPool<float>.Shared.Return(inputs);
            }
        }
    }

    /// <summary>The predicted class (argmax) of every sample of a <see cref="Dataset"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The samples (their labels are not used).</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[Count]</c> predicted classes.</returns>
    /// <exception cref="ArgumentException">The samples do not have the model's input size.</exception>
    public static int[] PredictClasses(this Sequential model, Dataset data, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        CheckFeatureSize(model, data, nameof(data));
        SampleSource source = data.Source;
        int count = source.Count, features = model.InputSize, classes = model.OutputSize;
        int[] predictions = new int[count];
        int chunk = Math.Max(1, Math.Min(batchSize, count));
        float[] outputs = ArrayPool<float>.Shared.Rent(chunk * classes);
        float[] inputs = source.IsBytes ? ArrayPool<float>.Shared.Rent(chunk * features) : [];
        try
        {
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                if (!source.TryGetFloats(first, n, out ReadOnlySpan<float> x))
                {
                    source.CopyFeatures(first, n, inputs);
                    x = inputs.AsSpan(0, n * features);
                }

                model.Infer(x, outputs.AsSpan(0, n * classes), n);
                Metrics.ArgMax(outputs.AsSpan(0, n * classes), predictions.AsSpan(first, n), n, classes);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputs);
            if (inputs.Length > 0)
            {
                ArrayPool<float>.Shared.Return(inputs);
            }
        }

        return predictions;
    }

    /// <summary>The confusion matrix of the model's predictions on a <see cref="Dataset"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The labelled samples.</param>
    /// <returns>The matrix, rows true classes.</returns>
    /// <exception cref="ArgumentException">The data does not fit the model, or a label is out of range.</exception>
    public static ConfusionMatrix ConfusionMatrix(this Sequential model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(model, data, nameof(data));
        return new ConfusionMatrix(data.Labels, model.PredictClasses(data, 1000), model.OutputSize);
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

    private static void CheckCompiled(Sequential model, string what)
    {
        if (!model.IsCompiled)
        {
            throw new InvalidOperationException($"The model is not compiled: call Compile(loss, optimizer) before {what}.");
        }
    }

    private static void CheckFeatureSize(Sequential model, Dataset data, string name)
    {
        if (data.FeatureSize != model.InputSize)
        {
            throw new ArgumentException(
                $"{name} has shape [{data.Count}, {data.FeatureSize}] but the model expects {model.InputSize} input features (shape [?, {model.InputSize}]).", name);
        }
    }

    private static void CheckDataset(Sequential model, Dataset data, string name)
    {
        CheckFeatureSize(model, data, name);
        int classes = model.OutputSize;
        int bad = data.Labels.AsSpan().IndexOfAnyExceptInRange(0, classes - 1);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"{name}.Labels[{bad}] = {data.Labels[bad]} is outside [0, {classes}): the model outputs {classes} classes.", name);
        }
    }

    private static void Validate(FitOptions options)
    {
        if (options.Epochs <= 0)
        {
            throw new ArgumentException($"Expected a positive number of epochs. Received: epochs={options.Epochs}.", nameof(options));
        }

        if (options.InitialEpoch < 0 || options.InitialEpoch >= options.Epochs)
        {
            throw new ArgumentException(
                $"Expected 0 <= initialEpoch < epochs: Fit trains epochs initialEpoch + 1 to epochs. Received: initialEpoch={options.InitialEpoch}, epochs={options.Epochs}.", nameof(options));
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
