using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using NeuralCore.Data;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Randomness;
using NeuralCore.Scoring;

namespace NeuralCore.Training;

/// <summary>The result of <see cref="ModelTraining.Evaluate(Sequential, Dataset, int)"/>.</summary>
/// <param name="Loss">The loss over the samples (for the default reduction, the weighted mean).</param>
/// <param name="Accuracy">The fraction of predictions that were right; NaN when accuracy is not measured (a regression).</param>
/// <param name="Count">The number of samples.</param>
public readonly record struct Evaluation(double Loss, double Accuracy, int Count)
{
    private readonly IReadOnlyDictionary<string, double>? _metrics;

    /// <summary>Every value by its Keras name: <c>loss</c> and each metric measured (<c>accuracy</c>, <c>mae</c>, …).</summary>
    public IReadOnlyDictionary<string, double> Metrics
    {
        get => _metrics ?? new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = Loss };
        init => _metrics = value;
    }

    /// <summary>Equal when the loss, accuracy, count and every metric are equal (metrics compared by value).</summary>
    /// <param name="other">The other evaluation.</param>
    /// <returns>Whether they are equal.</returns>
    public bool Equals(Evaluation other)
    {
        if (!Loss.Equals(other.Loss) || !Accuracy.Equals(other.Accuracy) || Count != other.Count)
        {
            return false;
        }

        IReadOnlyDictionary<string, double> mine = Metrics, theirs = other.Metrics;
        return mine.Count == theirs.Count && mine.All(m => theirs.TryGetValue(m.Key, out double v) && v.Equals(m.Value));
    }

    /// <summary>A hash of the loss, accuracy and count.</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode() => HashCode.Combine(Loss, Accuracy, Count);

    /// <summary>Every value by its Keras name, to five significant digits: <c>150 samples - loss: 0.10341 - accuracy: 0.97333</c>.</summary>
    /// <returns>The text.</returns>
    /// <remarks>The record's own text printed the metrics' dictionary type, and an accuracy of NaN for a regression.</remarks>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Count} samples - {string.Join(" - ", Metrics.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key}: {m.Value:G5}")))}");
}

/// <summary>Keras's training loop for a compiled <see cref="Sequential"/>: Fit, Evaluate, predictions.</summary>
public static class ModelTraining
{
    /// <summary>
    /// Trains the model for <see cref="FitOptions.Epochs"/> epochs, Keras's <c>model.fit</c>: the data (minus a
    /// validation tail) is reshuffled every epoch from the seed, cut into batches and given to
    /// <see cref="Sequential.TrainStep(ReadOnlySpan{float}, LossTargets, int)"/>; after each epoch the validation data
    /// is evaluated and callbacks run. A step allocates nothing. Training stops early when a callback asks or the loss
    /// becomes NaN or infinite, or, past <see cref="Sequential.GradientCheckLoss"/>, a gradient or an update does
    /// (<see cref="TrainStepResult.Skipped"/>: the update of that step is skipped or undone, so the model keeps its last
    /// finite weights; an update that overflows from a smaller loss is not caught, and <see cref="History.StopReason"/>
    /// then says the weights are no longer finite).
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The samples, <c>[count, InputSize]</c> row-major.</param>
    /// <param name="labels">The <c>[count]</c> class labels, each in <c>[0, OutputSize)</c> (0 or 1 for one output).</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <returns>The per-epoch history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or two callbacks write the same file (a <see cref="CsvLogger"/> and a <see cref="ModelCheckpoint"/> of one path).</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss (both shapes are named), or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model holds the weights after the last finished step.</exception>
    public static History Fit(this Sequential model, float[] inputs, int[] labels, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        options ??= new FitOptions();
        CheckCompiled(model, "Fit");
        int count = CheckInputs(model, inputs, nameof(inputs));
        CheckCount(model, count, labels.Length, nameof(inputs), nameof(labels), $"[{labels.Length}]");
        return FitCore(model, new SampleSource(inputs, labels, model.InputSize, options.SampleWeights), options, "labels");
    }

    /// <summary>
    /// Trains the model on real-valued targets (regression values, 0/1 values, one-hot or probability rows), as
    /// <see cref="Fit(Sequential, float[], int[], FitOptions?)"/> does on labels.
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The samples, <c>[count, InputSize]</c> row-major.</param>
    /// <param name="targets">The <c>[count, OutputSize]</c> targets, row-major.</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <returns>The per-epoch history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or two callbacks write the same file (a <see cref="CsvLogger"/> and a <see cref="ModelCheckpoint"/> of one path).</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss (both shapes are named), or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model holds the weights after the last finished step.</exception>
    public static History Fit(this Sequential model, float[] inputs, float[] targets, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        options ??= new FitOptions();
        CheckCompiled(model, "Fit");
        int count = CheckInputs(model, inputs, nameof(inputs));
        CheckTargetShape(model, count, targets.Length, nameof(inputs), nameof(targets));
        return FitCore(model, new SampleSource(inputs, targets, model.OutputSize, model.InputSize, options.SampleWeights), options, "targets");
    }

    /// <summary>
    /// Trains the model on a <see cref="Dataset"/> (labels or targets, and its sample weights if it has any), as
    /// <see cref="Fit(Sequential, float[], int[], FitOptions?)"/> does on arrays. A dataset stored as bytes (MNIST as
    /// <c>Mnist</c> (NeuralCore.Datasets) loads it) is read and scaled batch by batch, never converted whole.
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="train">The training samples (and, with <see cref="FitOptions.ValidationSplit"/>, the validation tail).</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <returns>The per-epoch history.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or two callbacks write the same file (a <see cref="CsvLogger"/> and a <see cref="ModelCheckpoint"/> of one path).</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss (both shapes are named), or an option is invalid.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the model holds the weights after the last finished step.</exception>
    public static History Fit(this Sequential model, Dataset train, FitOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        options ??= new FitOptions();
        CheckCompiled(model, "Fit");
        if (options.SampleWeights is not null)
        {
            throw new ArgumentException(
                "FitOptions.SampleWeights weighs the training arrays; a dataset carries its own weights: use train.WithSampleWeights(weights).", nameof(options));
        }

        CheckDatasetShape(model, train, nameof(train));
        return FitCore(model, train.Source, options, train.HasLabels ? "train.Labels" : "train.Targets");
    }

    private static History FitCore(Sequential model, SampleSource data, FitOptions options, string dataName)
    {
        Validate(options);
        // One training call at a time per model: two would interleave their steps on one set of weights and buffers,
        // and each would lose the other's updates without a sign. Fit's own steps (and its callbacks') run on this thread.
        model.EnterTraining("Fit", reentrant: false);
        try
        {
            return FitLocked(model, data, options, dataName);
        }
        finally
        {
            model.ExitTraining();
        }
    }

    private enum CallbackEvent
    {
        TrainBegin,
        EpochBegin,
        BatchEnd,
        EpochEnd,
        TrainInterrupted,
        TrainEnd,
    }

    // Runs every callback's handler of one event inside the callbacks' window (Sequential.InCallback: reads from other
    // threads admitted, and waited for before anything else runs). No window where there is no callback: nothing to
    // wait for. A switch, not a delegate, so that the step loop's OnBatchEnd allocates nothing.
    private static void RunCallbacks(Sequential model, Callback[] callbacks, CallbackEvent kind, TrainingContext context, int epoch = 0,
        int step = 0, TrainStepResult result = default, EpochMetrics? metrics = null)
    {
        if (callbacks.Length == 0)
        {
            return;
        }

        model.InCallback = true;
        try
        {
            foreach (Callback callback in callbacks)
            {
                switch (kind)
                {
                    case CallbackEvent.TrainBegin:
                        callback.OnTrainBegin(context);
                        break;
                    case CallbackEvent.EpochBegin:
                        callback.OnEpochBegin(epoch, context);
                        break;
                    case CallbackEvent.BatchEnd:
                        callback.OnBatchEnd(epoch, step, result, context);
                        break;
                    case CallbackEvent.EpochEnd:
                        callback.OnEpochEnd(metrics!, context);
                        break;
                    case CallbackEvent.TrainInterrupted:
                        callback.OnTrainInterrupted(context);
                        break;
                    default:
                        callback.OnTrainEnd(context);
                        break;
                }
            }
        }
        finally
        {
            model.LeaveCallbacks();
        }
    }

    private static History FitLocked(Sequential model, SampleSource data, FitOptions options, string dataName)
    {
        ILoss loss = model.Loss!;
        int features = model.InputSize, outputs = model.OutputSize;
        // The weights' count first: the targets' check slices them by the samples' count.
        if (!data.Weights.IsEmpty && data.Weights.Length != data.Count)
        {
            throw new ArgumentException(
                $"Expected one sample weight per sample: {data.Count}. Received: {data.Weights.Length} weights.", nameof(options));
        }

        // Before the targets' check, which would blame a bad weight on the labels or targets.
        if (options.SampleWeights is not null)
        {
            Check.Weights(data.Weights.Span, nameof(options), "FitOptions.SampleWeights: sample weight");
        }

        loss.CheckTargets(data.AllTargets, data.Count, outputs, dataName);

        int count = data.Count;
        SampleSource train, validation;
        int trainCount;
        if (options.ValidationData is not null || options.ValidationInputs is not null || options.ValidationLabels is not null || options.ValidationTargets is not null)
        {
            // Named as the caller gave them (a bad label blamed a parameter called 'validation data').
            string validationName = options.ValidationData is not null ? "ValidationData"
                : options.ValidationLabels is not null ? "ValidationLabels" : "ValidationTargets";
            validation = ValidationSource(model, options);
            if (validation.Count == 0)
            {
                // As an empty part of a ValidationSplit: training on with no validation would leave val_loss unreported.
                throw new ArgumentException(
                    $"{(options.ValidationData is not null ? "ValidationData" : "ValidationInputs")} holds no samples: give at least one validation sample, or no validation data.", nameof(options));
            }

            (train, trainCount) = (data, count);
            loss.CheckTargets(validation.AllTargets, validation.Count, outputs, validationName);
        }
        else
        {
            // Keras: the last samples validate, cut before shuffling; an empty part is an error, as in Keras.
            trainCount = options.ValidationSplit > 0 ? Dataset.CheckedSplitIndex(count, options.ValidationSplit, "ValidationSplit", nameof(options)) : count;
            train = data.Slice(0, trainCount);
            validation = data.Slice(trainCount, count - trainCount);
        }

        if (trainCount == 0)
        {
            throw new ArgumentException("Fit needs at least one training sample; the data is empty.", dataName);
        }

        if (options.ClassWeights is not null)
        {
            train = WithClassWeights(train, options.ClassWeights, outputs, model.Loss!);
        }

        int batchSize = Math.Min(options.BatchSize, trainCount);
        int steps = (trainCount + batchSize - 1) / batchSize;
        var history = new History();
        if (options.ValidationData is null && options.ValidationInputs is null && validation.Count > 0 && train.HasLabels && validation.HasLabels)
        {
            CheckSplitClasses(train, validation, history);
        }

        if (train.HasLabels && trainCount > 1 && model.Loss!.Task != LossTask.Regression && OneClass(train.Labels.Span[..trainCount]) is int only)
        {
            history.Warn(string.Create(CultureInfo.InvariantCulture,
                $"every one of the {trainCount} training samples has label {only}: a classifier that sees one class learns to predict it always, and its accuracy on such data says nothing. Check the labels, or the rows chosen for training."));
        }

        ulong seed = options.Seed ?? Xoshiro128.Derive(model.Seed, 0x5348_5546); // "SHUF"

        int[] order = new int[trainCount];
        float[] batchX = new float[batchSize * features];
        int[] batchY = train.HasLabels ? new int[batchSize] : [];
        float[] batchT = train.HasLabels ? [] : new float[batchSize * outputs];
        float[] batchW = train.Weights.IsEmpty ? [] : new float[batchSize];
        var gather = new BatchGather(train, order, batchX, batchY, batchT, batchW);
        var metrics = new MetricSet(MetricSet.Resolve(model.Metrics, loss, train.HasLabels), outputs);
        var validationMetrics = new MetricSet(MetricSet.Resolve(model.Metrics, loss, validation.HasLabels || validation.Count == 0 && train.HasLabels), outputs);
        string[] reported = validation.Count > 0
            ? ["loss", .. metrics.Names, "val_loss", .. validationMetrics.Names.Select(n => "val_" + n)]
            : ["loss", .. metrics.Names];
        var context = new TrainingContext(model, options.Epochs, steps, trainCount, history, reported)
        {
            ValidationFrequency = validation.Count > 0 ? options.ValidationFrequency : 1,
        };
        float[] predictions = metrics.NeedsPredictions ? new float[batchSize * outputs] : [];
        bool measureAccuracy = metrics.Names.Any(MetricSet.IsAccuracy);
        AccuracyKind accuracyKind = Scoring.Metrics.AccuracyFor(loss, outputs);
        float threshold = loss.Input == LossInput.Logits ? 0f : 0.5f;
        model.CompileHeld(loss, model.Optimizer!, batchSize, keepOptimizerState: true, model.Metrics);
        // An array: a foreach over it allocates no enumerator in the step loop.
        Callback[] callbacks = options.Verbose > 0 ? [new ProgressLogger(options.Verbose), .. options.Callbacks] : [.. options.Callbacks];
        context.Callbacks = callbacks;

        // The first layer's weights may stay in its products' order through an epoch's steps when no callback can see
        // them between steps (Sequential.EnterPanelOrder); they are back in row-major order before anything else runs.
        bool panelOrder = !callbacks.Any(c => c.ReadsModelBetweenSteps);

        // Two callbacks writing one file corrupt it: a CsvLogger appended its rows to the model a ModelCheckpoint had
        // just replaced, and two loggers interleaved two headers and every row twice.
        var writers = new Dictionary<string, Callback>(StringComparer.Ordinal);
        foreach (Callback callback in callbacks)
        {
            if (callback.FileWritten is { } file && !writers.TryAdd(file, callback))
            {
                throw new InvalidOperationException(
                    $"{writers[file].GetType().Name} and {callback.GetType().Name} both write '{file}', and would corrupt each other's file: give each its own path.");
            }
        }

        var epochSteps = new EpochSteps(model, loss, train, options, gather, batchX, batchY, batchT, batchW, steps, batchSize, trainCount,
            context, metrics, callbacks, panelOrder, measureAccuracy, accuracyKind, threshold, predictions,
            options.MeasureStepThreads ? StepChooser(model, batchSize) : null);
        RunCallbacks(model, callbacks, CallbackEvent.TrainBegin, context);

        try
        {
            for (int epoch = options.InitialEpoch + 1; epoch <= options.Epochs && !context.StopRequested; epoch++)
            {
                RunCallbacks(model, callbacks, CallbackEvent.EpochBegin, context, epoch);
                if (context.StopRequested)
                {
                    // Asked before the epoch's first step: it takes none, and is not recorded (it took one step, and
                    // Keras's takes one too).
                    break;
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

                (double lossSum, int seen, bool diverged) = epochSteps.Run(epoch);

                // The epoch's values are in its EpochMetrics from here on.
                context.SetRunning(null, 0, 0);
                if (diverged && seen == 0)
                {
                    break;
                }

                var values = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = lossSum / seen };
                metrics.WriteTo(values, "");
                double? valLoss = null, valAccuracy = null;
                if (validation.Count > 0 && context.Validates(epoch))
                {
                    // Keras validates in batches of the training batch size; for a summed loss the reported value is
                    // the mean of the batches' sums, so other chunks gave a val_loss on another scale than the loss.
                    // The user's batch size, not the one cut to a smaller training part (Keras's validation_batch_size
                    // defaults to batch_size as given).
                    int chunk = model.Loss!.Reduction == Reduction.Sum ? options.BatchSize : Math.Max(batchSize, 256);
                    Evaluation result = EvaluateCore(model, validation, chunk, validationMetrics);
                    foreach ((string name, double value) in result.Metrics)
                    {
                        values["val_" + name] = value;
                    }

                    valLoss = result.Loss;
                    valAccuracy = double.IsNaN(result.Accuracy) ? null : result.Accuracy;
                }

                model.EpochsTrained++;
                var epochMetrics = new EpochMetrics(epoch, values["loss"], MetricSet.AccuracyOf(values),
                    valLoss, valAccuracy, Stopwatch.GetElapsedTime(start).TotalSeconds)
                { Values = values };
                history.Add(epochMetrics);
                RunCallbacks(model, callbacks, CallbackEvent.EpochEnd, context, metrics: epochMetrics);
            }
        }
        catch (OperationCanceledException) when (options.CancellationToken.IsCancellationRequested)
        {
            RunCallbacks(model, callbacks, CallbackEvent.TrainInterrupted, context);
            throw;
        }

        RunCallbacks(model, callbacks, CallbackEvent.TrainEnd, context);

        return history;
    }

    private static SampleSource ValidationSource(Sequential model, FitOptions options)
    {
        if (options.ValidationData is { } data)
        {
            if (options.ValidationInputs is not null || options.ValidationLabels is not null || options.ValidationTargets is not null)
            {
                throw new ArgumentException("Give ValidationData or the validation arrays, not both.", nameof(options));
            }

            CheckDatasetShape(model, data, "ValidationData");
            return data.Source;
        }

        if (options.ValidationInputs is null || (options.ValidationLabels is null) == (options.ValidationTargets is null))
        {
            throw new ArgumentException(
                "Give ValidationInputs with either ValidationLabels or ValidationTargets (or none of them).", nameof(options));
        }

        int count = CheckInputs(model, options.ValidationInputs, "ValidationInputs");
        if (options.ValidationLabels is { } labels)
        {
            CheckCount(model, count, labels.Length, "ValidationInputs", "ValidationLabels", $"[{labels.Length}]");
            return new SampleSource(options.ValidationInputs, labels, model.InputSize);
        }

        CheckTargetShape(model, count, options.ValidationTargets!.Length, "ValidationInputs", "ValidationTargets");
        return new SampleSource(options.ValidationInputs, options.ValidationTargets, model.OutputSize, model.InputSize);
    }

    // Keras's class_weight: a per-sample weight from each sample's class, made once before training.
    private static SampleSource WithClassWeights(SampleSource train, IReadOnlyDictionary<int, float> options, int outputs, ILoss loss)
    {
        if (!train.Weights.IsEmpty)
        {
            throw new ArgumentException(
                "Give ClassWeights or sample weights, not both (Keras refuses the pair too): fold the class weights into the sample weights.", nameof(options));
        }

        IReadOnlyDictionary<int, float> classWeights = options;
        int classes = outputs == 1 ? 2 : outputs;
        foreach ((int c, float w) in classWeights)
        {
            Check.Weight(w, c, nameof(options), "Class weight");

            // A class no sample can have was ignored without a word (a weight meant for class 2 given as 7).
            if ((uint)c >= (uint)classes)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"ClassWeights names class {c}, but the model's {outputs} output(s) give classes 0 to {classes - 1}."), nameof(options));
            }
        }

        float[] weights = new float[train.Count];
        ReadOnlySpan<int> labels = train.Labels.Span;
        ReadOnlySpan<float> targets = train.Targets.Span;
        int width = train.TargetSize;
        if (!train.HasLabels && loss.Task == LossTask.Regression)
        {
            // A regression's values have no class: 3.7 and -1.2 were weighted as classes 1 and 0 (a value above 0.5).
            // Rows of 0s and 1s (one-hot, as the course notebook's MSE reads them) do.
            int bad = targets.IndexOfAnyExcept(0f, 1f);
            if (bad >= 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                    $"ClassWeights weight the classes of the targets, but target [{bad / width}, {bad % width}] is {targets[bad]}, not a class (0 or 1) under the regression loss {loss.Name}: weight the samples instead (sample weights)."), nameof(options));
            }
        }

        for (int r = 0; r < weights.Length; r++)
        {
            int c = train.HasLabels ? labels[r]
                : width == 1 ? (targets[r] > 0.5f ? 1 : 0)
                : TensorPrimitives.IndexOfMax(targets.Slice(r * width, width));
            weights[r] = classWeights.TryGetValue(c, out float w) ? w : 1f;
        }

        // The features stay where they are: they were copied (as floats) for every Fit, which ran out of memory with a
        // bare OutOfMemoryException on data that trained without class weights.
        return train.WithWeights(weights);
    }

    /// <summary>
    /// The loss and metrics on labelled samples, in inference mode (Keras's <c>model.evaluate</c>): the per-sample
    /// losses are those training minimizes, summed and reduced as the loss says.
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[count]</c> labels.</param>
    /// <param name="count">The number of samples; positive.</param>
    /// <param name="batchSize">
    /// Samples per forward pass: memory, not results, depends on it for the default reduction; with
    /// <see cref="Reduction.Sum"/> the loss is the mean of the batches' sums (Keras's), so pass the training batch size
    /// to compare it with the training loss. Positive.
    /// </param>
    /// <returns>The loss, accuracy, count and every metric.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training the model.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model, a label is out of range, or there are no samples.</exception>
    public static Evaluation Evaluate(this Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Evaluate));
        Check.NonNegative(count, nameof(count), "count of samples");
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckCompiled(model, "Evaluate");
        CheckSpans(model, inputs, count);
        Check.Holds(labels.Length, count, 1, nameof(labels), "count", unit: "labels", exact: true);

        return EvaluateSpans(model, inputs, LossTargets.FromLabels(labels[..count]), count, batchSize, "labels");
    }

    /// <summary>The loss and metrics on samples with real-valued targets, in inference mode (Keras's <c>model.evaluate</c>).</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="targets">The <c>[count, OutputSize]</c> targets.</param>
    /// <param name="count">The number of samples; positive.</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The loss, accuracy (NaN for a regression), count and every metric.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training the model.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss, or there are no samples.</exception>
    public static Evaluation Evaluate(this Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Evaluate));
        Check.NonNegative(count, nameof(count), "count of samples");
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckCompiled(model, "Evaluate");
        CheckSpans(model, inputs, count);
        Check.Holds(targets.Length, count, model.OutputSize, nameof(targets), "count", unit: "values", exact: true);
        return EvaluateSpans(model, inputs, LossTargets.FromValues(targets[..(count * model.OutputSize)]), count, batchSize, "targets");
    }

    private static Evaluation EvaluateSpans(Sequential model, ReadOnlySpan<float> inputs, LossTargets targets, int count, int batchSize, string name)
    {
        model.Loss!.CheckTargets(targets, count, model.OutputSize, name);
        RequireSamples(count, nameof(count));

        int chunk = Chunk(model, batchSize, count);
        using var evaluator = new Evaluator(model, chunk, new MetricSet(MetricSet.Resolve(model.Metrics, model.Loss!, targets.HasLabels), model.OutputSize));
        for (int first = 0; first < count; first += chunk)
        {
            int n = Math.Min(chunk, count - first);
            evaluator.Add(inputs.Slice(first * model.InputSize, n * model.InputSize), targets.Slice(first, n, model.OutputSize), n);
        }

        return evaluator.Result(count);
    }

    /// <summary>The loss and metrics on a <see cref="Dataset"/> (with its sample weights), in inference mode (Keras's <c>model.evaluate</c>).</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="data">The samples and their labels or targets.</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The loss, accuracy, count and every metric.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training the model.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss, or there are no samples.</exception>
    public static Evaluation Evaluate(this Sequential model, Dataset data, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Evaluate));
        ArgumentNullException.ThrowIfNull(data);
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckCompiled(model, "Evaluate");
        CheckDatasetShape(model, data, nameof(data));
        RequireSamples(data.Count, nameof(data));
        SampleSource source = data.Source;
        model.Loss!.CheckTargets(source.AllTargets, source.Count, model.OutputSize, data.HasLabels ? "data.Labels" : "data.Targets");
        return EvaluateCore(model, source, batchSize, new MetricSet(MetricSet.Resolve(model.Metrics, model.Loss!, data.HasLabels), model.OutputSize));
    }

    /// <summary>
    /// As <see cref="Evaluate(Sequential, Dataset, int)"/>, and from the same forward passes also each sample's
    /// prediction: exactly what <see cref="Predict(Sequential, Dataset, int)"/> returns (probabilities for a classifier,
    /// values for a regression), without running the model over the data a second time.
    /// </summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="data">The samples and their labels or targets.</param>
    /// <param name="predictions">Receives the <c>[Count, OutputSize]</c> predictions, row-major; may be longer.</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The loss, accuracy, count and every metric, as <see cref="Evaluate(Sequential, Dataset, int)"/> returns them.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training the model, or a prediction is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample), as <see cref="Predict(Sequential, Dataset, int)"/> refuses it.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss, or <paramref name="predictions"/> is shorter than <c>Count·OutputSize</c> (an empty span, or null, is too short) or overlaps the dataset's arrays, or there are no samples.</exception>
    public static Evaluation Evaluate(this Sequential model, Dataset data, Span<float> predictions, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Evaluate));
        ArgumentNullException.ThrowIfNull(data);
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckCompiled(model, "Evaluate");
        CheckDatasetShape(model, data, nameof(data));
        RequireSamples(data.Count, nameof(data));
        Check.Holds(predictions.Length, data.Count, model.OutputSize, nameof(predictions), "count", "outputs");
        SampleSource source = data.Source;
        LossTargets all = source.AllTargets;
        if ((source.TryGetFloats(0, source.Count, out ReadOnlySpan<float> features) && predictions.Overlaps(features))
            || predictions.Overlaps(all.Values) || predictions.Overlaps(all.SampleWeights))
        {
            // The passes would overwrite samples, targets or weights that later chunks and the metrics still read.
            throw new ArgumentException("predictions overlaps the dataset's features, targets or weights: give it its own array.", nameof(predictions));
        }

        model.Loss!.CheckTargets(all, source.Count, model.OutputSize, data.HasLabels ? "data.Labels" : "data.Targets");
        return EvaluateCore(model, source, batchSize, new MetricSet(MetricSet.Resolve(model.Metrics, model.Loss!, data.HasLabels), model.OutputSize), predictions);
    }

    /// <summary>As <see cref="Evaluate(Sequential, Dataset, int)"/> in batches of 1,000.</summary>
    /// <param name="model">A compiled model.</param>
    /// <param name="data">The samples and their labels or targets.</param>
    /// <returns>The loss, accuracy, count and every metric.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled.</exception>
    /// <exception cref="ArgumentException">The data does not fit the model or its loss, or there are no samples.</exception>
    public static Evaluation Evaluate(this Sequential model, Dataset data) => model.Evaluate(data, 1000);

    // As Keras's evaluate: no samples is an error, not a loss of NaN (an empty mean).
    private static void RequireSamples(int count, string name)
    {
        if (count == 0)
        {
            throw new ArgumentException("Evaluate needs at least one sample; it was given none.", name);
        }
    }

    private static Evaluation EvaluateCore(Sequential model, SampleSource data, int batchSize, MetricSet metrics, Span<float> predictions = default)
    {
        int count = data.Count;
        if (count == 0)
        {
            return new Evaluation(double.NaN, double.NaN, 0);
        }

        int chunk = Chunk(model, batchSize, count);
        float[] inputs = data.IsBytes ? ArrayPool<float>.Shared.Rent(chunk * model.InputSize) : [];
        try
        {
            using var evaluator = new Evaluator(model, chunk, metrics);
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                if (!data.TryGetFloats(first, n, out ReadOnlySpan<float> x))
                {
                    data.CopyFeatures(first, n, inputs);
                    x = inputs.AsSpan(0, n * model.InputSize);
                }

                int outputs = model.OutputSize;
                evaluator.Add(x, data.TargetsOf(first, n), n, predictions.IsEmpty ? default : predictions.Slice(first * outputs, n * outputs), first);
            }

            return evaluator.Result(count);
        }
        finally
        {
            if (inputs.Length > 0)
            {
                ArrayPool<float>.Shared.Return(inputs);
            }
        }
    }

    /// <summary>
    /// Every Evaluate's accumulation: infers a chunk, adds its per-sample losses (the training step's computation) and
    /// its metrics.
    /// </summary>
    private sealed class Evaluator : IDisposable
    {
        private readonly Sequential _model;
        private readonly ILoss _loss;
        private readonly MetricSet _metrics;
        private readonly float[] _outputs;
        private readonly float[] _predictions;
        private readonly AccuracyKind _kind;
        private readonly float _threshold;
        private readonly bool _measuresAccuracy;
        private double _lossSum;

        public Evaluator(Sequential model, int chunk, MetricSet metrics)
        {
            _model = model;
            _loss = model.Loss!;
            _metrics = metrics;
            int outputs = model.OutputSize;
            _outputs = ArrayPool<float>.Shared.Rent(chunk * outputs);
            _predictions = metrics.NeedsPredictions ? ArrayPool<float>.Shared.Rent(chunk * outputs) : [];
            _kind = Scoring.Metrics.AccuracyFor(_loss, outputs);
            _threshold = _loss.Input == LossInput.Logits ? 0f : 0.5f;
            _measuresAccuracy = metrics.Names.Any(MetricSet.IsAccuracy);
            metrics.Reset();
        }

        // predictions: empty, or where this chunk's predictions go (then the metrics read them there); first: the chunk's
        // first sample, for the message of a prediction that is not finite.
        public void Add(ReadOnlySpan<float> x, LossTargets targets, int n, Span<float> predictions = default, int first = 0)
        {
            int outputs = _model.OutputSize;
            Span<float> y = _outputs.AsSpan(0, n * outputs);
            _model.Infer(x, y, n, checkFinite: false);
            double sum = _loss.Sum(y, targets, n, outputs);

            // Keras's evaluate averages the batch losses weighted by batch size: for the default reduction that is the
            // sum over all samples divided by the count, whatever the chunk.
            _lossSum += _loss.Reduction == Reduction.Sum ? sum * n : sum;
            if (_measuresAccuracy)
            {
                (int correct, int judged) = Scoring.Metrics.CountCorrect(y, targets, n, outputs, _kind, _threshold);
                _metrics.AddAccuracy(correct, judged);
            }

            if (!predictions.IsEmpty)
            {
                // Handed to the caller as Predict's would be, so refused as Predict refuses them; the loss alone is reported
                // as it is (NaN), as Keras's evaluate reports it.
                _loss.ToPredictions(y, predictions, n, outputs);
                Sequential.CheckOutputsFinite(predictions, outputs, first, _model, static m => m.ParametersFinite);
            }

            if (_metrics.NeedsPredictions)
            {
                if (predictions.IsEmpty)
                {
                    predictions = _predictions;
                    _loss.ToPredictions(y, predictions, n, outputs);
                }

                _metrics.AddPredictions(predictions, targets, n);
            }
        }

        public Evaluation Result(int count)
        {
            // As Keras's evaluate, the loss includes the regularizers' penalties (of the weights as they are).
            var values = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = (_lossSum / count) + _model.RegularizationPenalty() };
            _metrics.WriteTo(values, "");
            return new Evaluation(values["loss"], MetricSet.AccuracyOf(values), count) { Metrics = values };
        }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(_outputs);
            if (_predictions.Length > 0)
            {
                ArrayPool<float>.Shared.Return(_predictions);
            }
        }
    }

    /// <summary>
    /// The predictions for every sample of a <see cref="Dataset"/> (see <see cref="Sequential.Predict(ReadOnlySpan{float}, Span{float}, int)"/>:
    /// probabilities for a classifier, values for a regression).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The samples (their targets are not used).</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[Count, OutputSize]</c> predictions, row-major.</returns>
    /// <exception cref="ArgumentException">The samples do not have the model's input size.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive or so large that one pass's buffers are more than an array holds, or <c>Count·OutputSize</c> predictions are more than one array holds.</exception>
    /// <exception cref="InsufficientMemoryException">The predictions need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model, or an output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public static float[] Predict(this Sequential model, Dataset data, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Predict));
        ArgumentNullException.ThrowIfNull(data);
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckFeatureSize(model, data, nameof(data));
        float[] predictions = NewPredictions(data.Count, model.OutputSize, nameof(data));
        ILoss? loss = model.Loss;
        int width = model.OutputSize;
        ForEachChunk(model, data.Source, batchSize, (first, n, outputs) =>
        {
            Span<float> destination = predictions.AsSpan(first * width, n * width);
            if (loss is null)
            {
                // No loss: the predictions are the outputs (this ran every sample's forward a second time).
                outputs.CopyTo(destination);
            }
            else
            {
                loss.ToPredictions(outputs, destination, n, width);
            }

            Sequential.CheckOutputsFinite(destination, width, first, model, static m => m.ParametersFinite);
        });
        return predictions;
    }

    /// <summary>
    /// The predictions for <paramref name="count"/> samples (Keras's <c>model.predict(x)</c>; see
    /// <see cref="Sequential.Predict(ReadOnlySpan{float}, Span{float}, int)"/>: probabilities for a classifier, values
    /// for a regression), computed in chunks of <paramref name="batchSize"/>.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples, exactly.</param>
    /// <param name="count">The number of samples; non-negative (0 gives no predictions).</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[count, OutputSize]</c> predictions, row-major.</returns>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> does not hold exactly <c>count·InputSize</c> values, or one of them is NaN or infinite.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="batchSize"/> not positive or so large that one pass's buffers are more than an array holds, or <c>count·OutputSize</c> predictions are more than one array holds.</exception>
    /// <exception cref="InsufficientMemoryException">The predictions need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model, or an output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public static float[] Predict(this Sequential model, ReadOnlySpan<float> inputs, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(Predict));
        Check.NonNegative(count, nameof(count), "count of samples");
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckSpans(model, inputs, count);
        int features = model.InputSize, outputs = model.OutputSize;
        float[] predictions = NewPredictions(count, outputs, nameof(count));
        int chunk = Chunk(model, batchSize, count);
        for (int first = 0; first < count; first += chunk)
        {
            int n = Math.Min(chunk, count - first);
            model.Predict(inputs.Slice(first * features, n * features), predictions.AsSpan(first * outputs, n * outputs), n, checkFinite: false, firstRow: first);
        }

        return predictions;
    }

    /// <summary>
    /// The predicted class of every sample of a <see cref="Dataset"/>: the argmax of each output row, or for a model
    /// with one output, 1 where its probability is above ½ (its logit above 0 for a loss on logits) and 0 elsewhere.
    /// </summary>
    /// <remarks>
    /// Classes mean something only for a classifier, or a regression loss trained on class labels (the notebook's MSE on
    /// a softmax): a regression of quantities with one output gets 0 and 1 by the ½ threshold, which says nothing.
    /// </remarks>
    /// <param name="model">The model.</param>
    /// <param name="data">The samples (their targets are not used).</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[Count]</c> predicted classes.</returns>
    /// <exception cref="ArgumentException">The samples do not have the model's input size.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model, or its output for a sample is NaN (no class).</exception>
    public static int[] PredictClasses(this Sequential model, Dataset data, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(PredictClasses));
        ArgumentNullException.ThrowIfNull(data);
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckFeatureSize(model, data, nameof(data));
        int[] classes = new int[data.Count];
        ForEachChunk(model, data.Source, batchSize, (first, n, outputs) => Classify(model, outputs, classes.AsSpan(first, n), n, first));
        return classes;
    }

    private delegate void ChunkAction(int first, int count, ReadOnlySpan<float> outputs);

    // Infers every sample of a source in chunks, reading bytes into floats as needed, and hands each chunk's outputs on.
    private static void ForEachChunk(Sequential model, SampleSource source, int batchSize, ChunkAction action)
    {
        int count = source.Count, features = model.InputSize, outputs = model.OutputSize;
        int chunk = Chunk(model, batchSize, count);
        float[] buffer = ArrayPool<float>.Shared.Rent(chunk * outputs);
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

                model.Infer(x, buffer.AsSpan(0, n * outputs), n, checkFinite: false);
                action(first, n, buffer.AsSpan(0, n * outputs));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
            if (inputs.Length > 0)
            {
                ArrayPool<float>.Shared.Return(inputs);
            }
        }
    }

    // `first`: the index of the chunk's first sample, for the message.
    private static void Classify(Sequential model, ReadOnlySpan<float> outputs, Span<int> classes, int n, int first)
    {
        int width = model.OutputSize;
        if (width > 1)
        {
            Scoring.Metrics.ArgMax(outputs, classes, n, width);
        }
        else
        {
            float threshold = model.Loss?.Input == LossInput.Logits ? 0f : 0.5f;
            for (int r = 0; r < n; r++)
            {
                classes[r] = outputs[r] > threshold ? 1 : 0;
            }
        }

        // A NaN score has no class: rows of them were given class 0 (the argmax of a row lands on its first NaN).
        for (int r = 0; r < n; r++)
        {
            if (float.IsNaN(outputs[(r * width) + (width > 1 ? classes[r] : 0)]))
            {
                throw new InvalidOperationException(Sequential.NonFiniteOutput(first + r, float.NaN, model.ParametersFinite, ", so it has no class"));
            }
        }
    }

    /// <summary>
    /// The confusion matrix of the model's predictions (<see cref="PredictClasses(Sequential, Dataset, int)"/>) on a
    /// labelled <see cref="Dataset"/>; a one-output model has the two classes 0 and 1.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The labelled samples.</param>
    /// <returns>The matrix, rows true classes.</returns>
    /// <exception cref="ArgumentException">The data does not fit the model, or a label is out of range.</exception>
    /// <exception cref="InvalidOperationException">The dataset holds real-valued targets, or another thread is training the model.</exception>
    public static ConfusionMatrix ConfusionMatrix(this Sequential model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(ConfusionMatrix));
        ArgumentNullException.ThrowIfNull(data);
        CheckFeatureSize(model, data, nameof(data));
        int classes = Math.Max(2, model.OutputSize);
        Check.Labels(data.Labels, classes, "data.Labels");
        return new ConfusionMatrix(data.Labels, model.PredictClasses(data, 1000), classes);
    }

    /// <summary>
    /// One-vs-rest ROC curves of the model's predictions (<see cref="Predict(Sequential, Dataset, int)"/>: the
    /// probabilities, for a classifier compiled with a cross-entropy) on a labelled <see cref="Dataset"/>, per class with
    /// micro and macro averages. A one-output model scores class 1 with its probability and class 0 with one minus it,
    /// computed in double precision so that probabilities below 3e-8 keep their order (class 0's thresholds are then
    /// rounded to float, so neighbouring points may show the same threshold).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The labelled samples; every class needs at least one sample and one non-sample.</param>
    /// <returns>The curves.</returns>
    /// <exception cref="ArgumentException">The data does not fit the model, a label is out of range, or a class is absent.</exception>
    /// <exception cref="InvalidOperationException">The dataset holds real-valued targets, another thread is training the model, or a prediction is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public static MulticlassRoc RocCurves(this Sequential model, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(RocCurves));
        ArgumentNullException.ThrowIfNull(data);
        CheckFeatureSize(model, data, nameof(data));
        int classes = Math.Max(2, model.OutputSize);
        Check.Labels(data.Labels, classes, "data.Labels");
        float[] scores = model.Predict(data);
        if (model.OutputSize != 1)
        {
            return MulticlassRoc.Compute(scores, data.Labels, data.Count, classes);
        }

        // 1 - p in double: in float it is 1 for every p below 3e-8, which tied a confident model's class-0 scores
        // (its AUC 0.5 where class 1's was 1). A float p's complement is exact in double down to p = 2^-29.
        double[] both = new double[scores.Length * 2];
        for (int i = 0; i < scores.Length; i++)
        {
            both[2 * i] = 1.0 - scores[i];
            both[(2 * i) + 1] = scores[i];
        }

        return MulticlassRoc.Compute(both, data.Labels, data.Count, classes);
    }

    /// <summary>The predicted class of every sample (see <see cref="PredictClasses(Sequential, Dataset, int)"/>).</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="count">The number of samples; non-negative (0 gives no classes).</param>
    /// <param name="batchSize">Samples per forward pass; positive.</param>
    /// <returns>The <c>[count]</c> predicted classes.</returns>
    /// <exception cref="ArgumentException"><paramref name="inputs"/> does not hold exactly its shape, or holds a NaN or an infinity.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive, or so large that one pass's buffers are more than an array holds.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model, or its output for a sample is NaN (no class).</exception>
    public static int[] PredictClasses(this Sequential model, ReadOnlySpan<float> inputs, int count, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(PredictClasses));
        Check.NonNegative(count, nameof(count), "count of samples");
        Check.Positive(batchSize, nameof(batchSize), "batch size");
        CheckSpans(model, inputs, count);
        int features = model.InputSize, outputs = model.OutputSize;
        int[] predictions = new int[count];
        int chunk = Chunk(model, batchSize, count);
        float[] buffer = ArrayPool<float>.Shared.Rent(chunk * outputs);
        try
        {
            for (int first = 0; first < count; first += chunk)
            {
                int n = Math.Min(chunk, count - first);
                model.Infer(inputs.Slice(first * features, n * features), buffer.AsSpan(0, n * outputs), n, checkFinite: false);
                Classify(model, buffer.AsSpan(0, n * outputs), predictions.AsSpan(first, n), n, first);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }

        return predictions;
    }

    /// <summary>The confusion matrix of the model's predictions on labelled samples (a one-output model has classes 0 and 1).</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">The <c>[count, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[count]</c> labels.</param>
    /// <param name="count">The number of samples.</param>
    /// <returns>The matrix, rows true classes.</returns>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or a label is out of range.</exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model.</exception>
    public static ConfusionMatrix ConfusionMatrix(this Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int count)
    {
        ArgumentNullException.ThrowIfNull(model);
        using Sequential.ReadScope read = model.EnterRead(nameof(ConfusionMatrix));
        Check.NonNegative(count, nameof(count), "count of samples");
        CheckSpans(model, inputs, count);
        Check.Holds(labels.Length, count, 1, nameof(labels), "count", unit: "labels", exact: true);

        int classes = Math.Max(2, model.OutputSize);
        Check.Labels(labels[..count], classes, nameof(labels));
        return new ConfusionMatrix(labels[..count], model.PredictClasses(inputs, count), classes);
    }

    private static void CheckCompiled(Sequential model, string what)
    {
        if (!model.IsCompiled)
        {
            throw new InvalidOperationException($"The model is not compiled: call Compile(loss, optimizer) before {what}.");
        }
    }

    /// <summary>
    /// The array for <paramref name="count"/> samples' predictions, refused by name where no array can hold them or
    /// the process may not use that much memory: <c>new float[long]</c> past <see cref="Array.MaxLength"/> threw an
    /// <see cref="OverflowException"/> naming nothing.
    /// </summary>
    private static float[] NewPredictions(int count, int outputs, string name)
    {
        long length = (long)count * outputs;
        if (length > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(name, count,
                $"{count} samples × {outputs} outputs = {length} predictions, more than an array holds ({Array.MaxLength}): predict at most {Array.MaxLength / outputs} samples at a time (slices of the inputs, or Predict with a span of your own).");
        }

        Check.FitsInMemory(4m * length, $"The predictions of {count} samples", "predict fewer samples at a time");
        return new float[length];
    }

    /// <summary>
    /// The samples per forward pass for <paramref name="count"/> samples in batches of <paramref name="batchSize"/>,
    /// refused by name where one pass's buffers (the inputs, the widest layer's outputs) are more than an array holds:
    /// 1,000 samples of a 3,000,000-output model overflowed <c>chunk × outputs</c>, and ArrayPool refused a negative
    /// 'minimumLength'.
    /// </summary>
    private static int Chunk(Sequential model, int batchSize, int count)
    {
        int chunk = Math.Max(1, Math.Min(batchSize, count));
        int widest = Sequential.WidestOutput(model.Layers, model.InputSize);
        long floats = (long)chunk * widest;
        if (floats > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"A batch of {chunk} samples needs {chunk} × {widest} (the widest layer) = {floats} floats per buffer, more than an array holds ({Array.MaxLength}): pass a batchSize of at most {Array.MaxLength / widest}.");
        }

        return chunk;
    }

    private static void CheckFeatureSize(Sequential model, Dataset data, string name)
    {
        if (data.FeatureSize != model.InputSize)
        {
            throw new ArgumentException(
                $"{name} has shape [{data.Count}, {data.FeatureSize}] but the model expects {model.InputSize} input features (shape [?, {model.InputSize}]).", name);
        }
    }

    private static void CheckDatasetShape(Sequential model, Dataset data, string name)
    {
        CheckFeatureSize(model, data, name);
        if (!data.HasLabels && data.TargetSize != model.OutputSize)
        {
            string advice = data.TargetSize == 1 && model.Loss is { Task: not LossTask.Regression }
                ? " If these are class indices, make the dataset with int[] labels (from a TableEncoder: LabelKind = LabelKind.Classes, as a label column of whole numbers is read as a quantity unless told)."
                : "";
            throw new ArgumentException(
                $"{name} has targets of shape [{data.Count}, {data.TargetSize}] but the model has {model.OutputSize} outputs (shape [?, {model.OutputSize}]).{advice}", name);
        }
    }

    // The one label all samples share, or null when they differ.
    private static int? OneClass(ReadOnlySpan<int> labels) =>
        labels.IsEmpty || labels.ContainsAnyExcept(labels[0]) ? null : labels[0];

    /// <summary>
    /// Warns when Keras's split (the last samples validate) leaves the validation part without classes the training part
    /// has: data sorted by class then validates on its last classes only, and the validation accuracy means little.
    /// </summary>
    private static void CheckSplitClasses(SampleSource train, SampleSource validation, History history)
    {
        int classes = 0;
        ReadOnlySpan<int> trainLabels = train.Labels.Span[..train.Count], validationLabels = validation.Labels.Span[..validation.Count];
        foreach (int label in trainLabels)
        {
            classes = Math.Max(classes, label + 1);
        }

        Span<bool> inTrain = classes <= 1024 ? stackalloc bool[classes] : new bool[classes];
        Span<bool> inValidation = classes <= 1024 ? stackalloc bool[classes] : new bool[classes];
        foreach (int label in trainLabels)
        {
            inTrain[label] = true;
        }

        foreach (int label in validationLabels)
        {
            if ((uint)label < (uint)classes)
            {
                inValidation[label] = true;
            }
        }

        int trainClasses = 0, missing = 0;
        for (int c = 0; c < classes; c++)
        {
            trainClasses += inTrain[c] ? 1 : 0;
            missing += inTrain[c] && !inValidation[c] ? 1 : 0;
        }

        if (missing > 0)
        {
            history.Warn(string.Create(CultureInfo.InvariantCulture,
                $"the validation split (the last {validation.Count} samples, as in Keras) holds {trainClasses - missing} of the {trainClasses} classes of the training part: the data may be sorted by class. Shuffle it first, or split with DatasetSplits.TrainValidation(shuffle: true, stratify: true) from NeuralCore.Datasets and pass FitOptions.ValidationData."));
        }
    }

    // Why a step was skipped, and what the weights are now: those before the step, unless an earlier update, below the
    // loss that has updates checked (Sequential.GradientCheckLoss), had already made them infinite or NaN.
    private static string SkipReason(Sequential model, TrainStepResult result, int epoch, int step)
    {
        string weights = model.ParametersFinite
            ? "the weights are those before that step"
            : "the weights are no longer finite (an earlier update overflowed before the loss did)";
        return result.UpdateOverflowed
            ? string.Create(CultureInfo.InvariantCulture, $"the update at epoch {epoch}, step {step} overflowed (a weight or the optimizer's state would have become infinite or NaN; the loss was {result.Loss}): training stopped and {weights} ({LossAdvice(model)})")
            : double.IsFinite(result.Loss)
                ? string.Create(CultureInfo.InvariantCulture, $"a gradient overflowed ({OverflowLimit(model)}infinite or NaN) at epoch {epoch}, step {step} (the loss was {result.Loss}): training stopped and {weights} ({LossAdvice(model)})")
                : string.Create(CultureInfo.InvariantCulture, $"the loss became {result.Loss} at epoch {epoch}, step {step}: training stopped and {weights} ({LossAdvice(model)})");
    }

    // What counts as an overflow for the model's optimizer, for the stop reason: "beyond 1.84E+19 for adam, " where it
    // keeps squares.
    private static string OverflowLimit(Sequential model) => model.MaxGradient < float.MaxValue
        ? string.Create(CultureInfo.InvariantCulture, $"beyond {model.MaxGradient:G3} for {model.Optimizer!.Name}, ")
        : "";

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

        if (options.Verbose is < 0 or > 2)
        {
            throw new ArgumentException($"Expected verbose 0, 1 or 2. Received: verbose={options.Verbose}.", nameof(options));
        }

        if (options.Callbacks is null)
        {
            throw new ArgumentException("FitOptions.Callbacks is null: leave it out, or give an empty list.", nameof(options));
        }

        for (int i = 0; i < options.Callbacks.Count; i++)
        {
            if (options.Callbacks[i] is null)
            {
                throw new ArgumentException($"FitOptions.Callbacks[{i}] is null.", nameof(options));
            }
        }

        if (options.ValidationFrequency < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Expected FitOptions.ValidationFrequency of at least 1 (validate every that many epochs). Received: {options.ValidationFrequency}."), nameof(options));
        }

        if (!(options.ValidationSplit >= 0 && options.ValidationSplit < 1))
        {
            throw new ArgumentException(
                $"Expected a validation split in [0, 1). Received: validationSplit={options.ValidationSplit.ToString(CultureInfo.InvariantCulture)}.", nameof(options));
        }
    }

    // A regularizer whose penalty is huge makes the loss or the gradient overflow whatever the data and the rate: name it then.
    private static string LossAdvice(Sequential model)
    {
        double penalty = model.RegularizationPenalty();
        return double.IsFinite(penalty) && penalty <= Sequential.GradientCheckLoss
            ? "lower the learning rate, or check the scale of the inputs and targets"
            : string.Create(CultureInfo.InvariantCulture, $"the layers' regularization penalty is {penalty:G4}: lower their regularizers' factors");
    }

    private static int CheckInputs(Sequential model, float[] inputs, string inputsName)
    {
        int features = model.InputSize;
        if (inputs.Length % features != 0)
        {
            throw new ArgumentException(
                $"{inputsName} holds {inputs.Length} floats, which is not a whole number of samples of the model's {features} input features (shape [?, {features}]).", inputsName);
        }

        Check.Finite(inputs, features, inputsName);
        return inputs.Length / features;
    }

    private static void CheckCount(Sequential model, int count, int other, string inputsName, string otherName, string otherShape)
    {
        if (other != count)
        {
            // Rows of another width than the model's also divide into whole rows: 30 rows of 3 features read as 45 of 2.
            string width = other > 0 && count * model.InputSize % other == 0 && count * model.InputSize / other != model.InputSize
                ? string.Create(CultureInfo.InvariantCulture,
                    $" (or {inputsName} holds rows of {count * model.InputSize / other} features, not the model's {model.InputSize}?)")
                : "";
            throw new ArgumentException(
                $"{inputsName} has shape [{count}, {model.InputSize}] but {otherName} has shape {otherShape}: they must hold as many samples{width}.", otherName);
        }
    }

    private static void CheckTargetShape(Sequential model, int count, int length, string inputsName, string targetsName)
    {
        int outputs = model.OutputSize;
        if (outputs > 1 && length == count && model.Loss is { Task: not LossTask.Regression } loss)
        {
            // One value per sample for a classifier of several outputs: class indices passed as floats, read as rows of
            // targets, gave "inputs has shape [150, 4] but targets has shape [50, 3]".
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{targetsName} holds {length} values, one per sample, but the model has {outputs} outputs and {loss.Name} needs a row of {outputs} target values per sample (shape [{count}, {outputs}]). If these are class indices, pass them as int[] labels."), targetsName);
        }

        if (length % outputs != 0)
        {
            throw new ArgumentException(
                $"{targetsName} holds {length} values, which is not a whole number of rows of the model's {outputs} outputs (shape [?, {outputs}]).", targetsName);
        }

        CheckCount(model, count, length / outputs, inputsName, targetsName, $"[{length / outputs}, {outputs}]");
    }

    private static void CheckSpans(Sequential model, ReadOnlySpan<float> inputs, int count)
    {
        Check.Holds(inputs.Length, count, model.InputSize, nameof(inputs), "count", exact: true);
        Check.Finite(inputs, model.InputSize, nameof(inputs));
    }

    // One chooser a model, kept from one Fit to the next (training calls on a model are single-caller).
    private static readonly ConditionalWeakTable<Sequential, StepThreadChooser> s_stepChoosers = new();

    /// <summary>The step-thread chooser of <paramref name="model"/>'s Fit calls, begun for batches of <paramref name="batchSize"/> (tests read it).</summary>
    internal static StepThreadChooser StepChooser(Sequential model, int batchSize)
    {
        StepThreadChooser chooser = s_stepChoosers.GetOrCreateValue(model);
        chooser.Begin(batchSize);
        return chooser;
    }

    /// <summary>
    /// One epoch's steps of <see cref="FitLocked"/>: gather, step, metrics and batch callbacks, over the order the epoch
    /// drew. A method of its own, compiled optimized at its first call (AggressiveOptimization): inside FitLocked the
    /// loop ran as tier-0 code until on-stack replacement compiled the whole method, in the middle of the sixth epoch
    /// of 784-16-10 at batch 32 (that epoch 8 ms, a fifth, slower than the others; AMD EPYC Zen 5, 2 real cores).
    /// </summary>
    private sealed class EpochSteps(Sequential model, ILoss loss, SampleSource train, FitOptions options, BatchGather gather, float[] batchX,
        int[] batchY, float[] batchT, float[] batchW, int steps, int batchSize, int trainCount, TrainingContext context, MetricSet metrics,
        Callback[] callbacks, bool panelOrder, bool measureAccuracy, AccuracyKind accuracyKind, float threshold, float[] predictions,
        StepThreadChooser? chooser)
    {
        /// <summary>Runs epoch <paramref name="epoch"/>'s steps: the weighted loss sum, the samples seen, and whether a step diverged.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (double LossSum, int Seen, bool Diverged) Run(int epoch)
        {
            int features = model.InputSize, outputs = model.OutputSize;
            metrics.Reset();
            double lossSum = 0;
            int seen = 0;
            context.SetRunning(metrics, 0, 0);
            bool diverged = false;
            try
            {
                if (panelOrder)
                {
                    model.EnterPanelOrder();
                }

                for (int step = 1; step <= steps; step++)
                {
                    options.CancellationToken.ThrowIfCancellationRequested();
                    int first = (step - 1) * batchSize;
                    int n = Math.Min(batchSize, trainCount - first);
                    int all = model.StepThreads(n);
                    bool timed = n == batchSize;
                    int threads = chooser?.Threads(all, timed) ?? all;
                    ReadOnlySpan<float> weights = batchW.Length == 0 ? default : batchW.AsSpan(0, n);
                    LossTargets targets = train.HasLabels
                        ? LossTargets.FromLabels(batchY.AsSpan(0, n), weights)
                        : LossTargets.FromValues(batchT.AsSpan(0, n * outputs), weights);
                    long started = Stopwatch.GetTimestamp();
                    TrainStepResult result;
                    using (Parallelism.LimitTo(threads))
                    {
                        // As many threads as the step will use: a batch gathered in halves is read whole by a step on one core.
                        gather.Run(first, n, streaming: chooser is null || !gather.Splits(n) || chooser.StreamingGather(timed));
                        result = model.TrainStep(batchX.AsSpan(0, n * features), targets, n);
                    }

                    chooser?.Record(Stopwatch.GetTimestamp() - started, all, timed);
                    if (result.Skipped)
                    {
                        context.StopTraining(SkipReason(model, result, epoch, step));
                        diverged = true;
                        break;
                    }

                    lossSum += result.Loss * n;
                    seen += n;
                    if (result.Judged > 0)
                    {
                        metrics.AddAccuracy(result.Correct, result.Judged);
                    }
                    else if (measureAccuracy)
                    {
                        // A regression loss asked for accuracy explicitly (the notebook's MSE on one-hot rows).
                        (int correct, int judged) = Scoring.Metrics.CountCorrect(model.LastOutputs(n), targets, n, outputs, accuracyKind, threshold);
                        metrics.AddAccuracy(correct, judged);
                    }
                    if (metrics.NeedsPredictions)
                    {
                        loss.ToPredictions(model.LastOutputs(n), predictions, n, outputs);
                        metrics.AddPredictions(predictions, targets, n);
                    }

                    context.SetRunning(metrics, lossSum, seen);
                    RunCallbacks(model, callbacks, CallbackEvent.BatchEnd, context, epoch, step, result);
                    if (context.StopRequested)
                    {
                        // Keras breaks out of the epoch's steps as soon as a callback sets stop_training; the epoch
                        // is then validated and reported over the steps it ran (it went on to the epoch's end).
                        break;
                    }
                }
            }
            finally
            {
                model.ExitPanelOrder();
            }

            return (lossSum, seen, diverged);
        }
    }
}
