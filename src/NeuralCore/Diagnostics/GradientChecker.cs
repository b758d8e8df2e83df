using System.Buffers;
using NeuralCore.Configuration;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Randomness;

namespace NeuralCore.Diagnostics;

/// <summary>The outcome of a gradient check.</summary>
/// <param name="MaxInputError">The largest error over the input (or output, for a loss) gradient; 0 when none was checked.</param>
/// <param name="MaxParameterError">The largest error over the parameter gradients; 0 when there are none.</param>
/// <param name="Checked">How many partial derivatives were compared.</param>
/// <param name="Worst">Where the largest error is, with both values.</param>
public sealed record GradientCheckResult(double MaxInputError, double MaxParameterError, int Checked, string Worst)
{
    /// <summary>The largest error of all; NaN where a perturbed objective or an analytic gradient was not finite (outputs that overflow, say), so that such a check never passes.</summary>
    public double MaxError => Math.Max(MaxInputError, MaxParameterError);
}

/// <summary>
/// Compares analytic gradients with central differences, <c>(f(x + h) - f(x - h)) / 2h</c>, with <c>f</c> summed in
/// double. The error of one partial derivative is <c>|analytic - numeric| / max(|analytic| + |numeric|, floor)</c>:
/// relative for large gradients, absolute (scaled by <c>1/floor</c>) near zero.
/// </summary>
/// <remarks>
/// Piecewise-linear functions such as ReLU have kinks: keep inputs further than <c>h</c> from them. Layers that draw
/// randomness in training must hold it fixed (<see cref="NoiseLayer.FreezeNoise"/>) after one forward.
/// </remarks>
public static class GradientChecker
{
    /// <summary>
    /// Checks a layer's Backward against its Forward (training mode) for the objective <c>f = Σ output ⊙ R</c>, with
    /// <c>R</c> a fixed random projection: both the input gradient and the parameter gradients.
    /// </summary>
    /// <param name="layer">A built layer; its parameters are perturbed and restored, and its gradients overwritten.</param>
    /// <param name="input">The <c>[batch, InputSize]</c> point to check at.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="step">The difference step h; positive.</param>
    /// <param name="floor">The error denominator's floor; positive.</param>
    /// <param name="seed">The seed of <c>R</c>.</param>
    /// <returns>The largest errors.</returns>
    /// <exception cref="ArgumentException">The layer is not built, or the input does not hold exactly <paramref name="batch"/> rows of the layer's inputs.</exception>
    /// <exception cref="InvalidOperationException">The layer draws noise in training and its noise is not frozen (<see cref="NoiseLayer.FreezeNoise"/>).</exception>
    public static GradientCheckResult CheckLayer(ILayer layer, ReadOnlySpan<float> input, int batch,
        float step = 1e-2f, double floor = 1e-3, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(layer);
        CheckSettings(batch, step, floor);
        if (!layer.IsBuilt)
        {
            // Its input size read 0, and the input was refused as "8 more than the rows hold" (a doc example ran into it).
            throw new ArgumentException(
                $"Layer '{Names.Printable(layer is Layer unbuilt ? unbuilt.Label : layer.Name)}' ({layer.TypeId}) is not built: call Build(inputSize, seed) first, or check it in a model, whose layers are built as they are added.", nameof(layer));
        }

        if (layer is NoiseLayer { RandomInTraining: true, FreezeNoise: false } noisy)
        {
            // Every evaluation would draw new noise: the differences would be of another function, and the errors noise.
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(noisy.Label)}' ({noisy.TypeId}) draws new noise at each training forward: run one training forward on the input, set FreezeNoise, then check it.");
        }

        int inCount = batch * layer.InputSize, outCount = batch * layer.OutputSize;

        // Exactly the rows, as at the model's entries: a longer span had its first rows checked without a word.
        Check.Holds(input.Length, batch, layer.InputSize, nameof(input), "batch", exact: true);

        float[] x = input[..inCount].ToArray();
        float[] projection = new float[outCount];
        var random = new Xoshiro128(seed);
        for (int i = 0; i < outCount; i++)
        {
            projection[i] = (2 * random.NextSingle()) - 1;
        }

        // A layer alone moves its non-trainable weights at each training forward (a batch normalization's running
        // statistics): the check's hundreds of forwards must not leave them moved.
        var known = layer as Layer;
        float[] kept = new float[known?.NonTrainableCount ?? 0];
        known?.CopyNonTrainable(kept);

        try
        {
            return CheckLayerKept(layer, x, batch, step, floor, projection, inCount, outCount);
        }
        finally
        {
            known?.RestoreNonTrainable(kept);
        }
    }

    private static GradientCheckResult CheckLayerKept(ILayer layer, float[] x, int batch, float step, double floor, float[] projection, int inCount, int outCount)
    {
        float[] output = new float[outCount];
        float[] inputGrad = new float[inCount];
        layer.Forward(x, output, batch, training: true);
        layer.Gradients.Span.Clear();
        layer.Backward(x, output, projection, inputGrad, batch);
        float[] parameterGrad = layer.Gradients.ToArray();

        double Objective()
        {
            layer.Forward(x, output, batch, training: true);
            double sum = 0;
            for (int i = 0; i < outCount; i++)
            {
                sum += (double)output[i] * projection[i];
            }

            return sum;
        }

        // One tracker per kind: the worst location reported is that of the larger of the two maxima.
        var inputs = new ErrorTracker(floor);
        inputs.Compare("input", x, inputGrad, step, Objective);
        var parameters = new ErrorTracker(floor);
        parameters.Compare("parameter", layer.Parameters.Span, parameterGrad, step, Objective);
        string worst = parameters.Max > inputs.Max ? parameters.Worst : inputs.Worst;
        return new GradientCheckResult(inputs.Max, parameters.Max, inCount + parameterGrad.Length, worst);
    }

    /// <summary>Checks a loss's gradient with respect to the model output against its value, on class labels.</summary>
    /// <param name="loss">The loss.</param>
    /// <param name="output">The <c>[batch, classes]</c> point to check at.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="classes">The number of classes; positive.</param>
    /// <param name="step">The difference step h; positive.</param>
    /// <param name="floor">The error denominator's floor; positive.</param>
    /// <returns>The largest error, reported as the input error.</returns>
    public static GradientCheckResult CheckLoss(ILoss loss, ReadOnlySpan<float> output, ReadOnlySpan<int> labels,
        int batch, int classes, float step = 1e-2f, double floor = 1e-3)
    {
        // Checked here: the overload below names its own outputs, which this caller never wrote.
        Check.Positive(classes, nameof(classes), "number of classes");
        return CheckLoss(loss, output, LossTargets.FromLabels(labels), batch, classes, step, floor);
    }

    /// <summary>
    /// Checks a loss's gradient with respect to the model output against its reduced value (<c>Σ w·l / batch</c>, or
    /// the sum for <see cref="Reduction.Sum"/>), for labels or real-valued targets with optional weights.
    /// </summary>
    /// <param name="loss">The loss.</param>
    /// <param name="output">The <c>[batch, outputs]</c> point to check at.</param>
    /// <param name="targets">The labels or values, and weights.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="outputs">Values per sample; positive.</param>
    /// <param name="step">The difference step h; positive.</param>
    /// <param name="floor">The error denominator's floor; positive.</param>
    /// <returns>The largest error, reported as the input error.</returns>
    /// <exception cref="ArgumentException">The output, labels, values or weights do not hold exactly <paramref name="batch"/> rows.</exception>
    public static GradientCheckResult CheckLoss(ILoss loss, ReadOnlySpan<float> output, LossTargets targets,
        int batch, int outputs, float step = 1e-2f, double floor = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(loss);
        CheckSettings(batch, step, floor);
        // Checked here, so that a short span is named rather than failing the slices below without a name.
        Check.Positive(outputs, nameof(outputs), "number of outputs");
        Check.Holds(output.Length, batch, outputs, nameof(output), "batch", "outputs", exact: true);
        if (targets.HasLabels)
        {
            Check.Holds(targets.Labels.Length, batch, 1, nameof(targets), "batch", unit: "labels", exact: true);
        }
        else
        {
            Check.Holds(targets.Values.Length, batch, outputs, nameof(targets), "batch", "outputs", unit: "values", exact: true);
        }

        if (!targets.SampleWeights.IsEmpty)
        {
            Check.Holds(targets.SampleWeights.Length, batch, 1, nameof(targets), "batch", unit: "weights", exact: true);
        }

        float[] x = output[..(batch * outputs)].ToArray();
        int[] labels = targets.HasLabels ? targets.Labels[..batch].ToArray() : [];
        float[] values = targets.HasLabels ? [] : targets.Values[..(batch * outputs)].ToArray();
        float[] weights = targets.SampleWeights.IsEmpty ? [] : targets.SampleWeights[..batch].ToArray();
        bool hasLabels = targets.HasLabels;
        LossTargets Targets() => hasLabels ? LossTargets.FromLabels(labels, weights) : LossTargets.FromValues(values, weights);

        float[] grad = new float[x.Length];
        loss.Compute(x, Targets(), grad, batch, outputs);
        double divisor = loss.Reduction == Reduction.Sum ? 1 : batch;
        var tracker = new ErrorTracker(floor);
        tracker.Compare("output", x, grad, step, () => loss.Sum(x, Targets(), batch, outputs) / divisor);
        return new GradientCheckResult(tracker.Max, 0, x.Length, tracker.Worst);
    }

    /// <summary>
    /// Checks a compiled model's parameter gradients (<see cref="Sequential.ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, int)"/>)
    /// of the layers that train (<see cref="Layer.Trainable"/>; another gets none) against its mean loss
    /// computed by <see cref="Sequential.Infer(ReadOnlySpan{float}, Span{float}, int)"/>; the model must not drop out (no active <see cref="Dropout"/>)
    /// nor normalize by the batch (no <see cref="BatchNormalization"/>, whose training and inference are different
    /// functions: check such a layer with <see cref="CheckLayer"/>).
    /// </summary>
    /// <param name="model">A compiled model; its parameters are perturbed and restored.</param>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[batch]</c> labels.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <param name="step">The difference step h; positive.</param>
    /// <param name="floor">The error denominator's floor; positive.</param>
    /// <returns>The largest error, reported as the parameter error.</returns>
    /// <exception cref="ArgumentException">The inputs or labels do not hold exactly <paramref name="batch"/> rows.</exception>
    /// <exception cref="InvalidOperationException">The model is not compiled, has a <see cref="BatchNormalization"/> or a layer that draws random values in training (dropout or noise with a rate above 0), has no parameter that trains, or another thread is training it.</exception>
    public static GradientCheckResult CheckModel(Sequential model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels,
        int batch, float step = 1e-2f, double floor = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(model);
        CheckSettings(batch, step, floor);
        ILoss loss = model.Loss ?? throw new InvalidOperationException("The model is not compiled: call Compile first.");
        if (model.Layers.FirstOrDefault(l => l is Layer { RandomInTraining: true }) is { } noisy)
        {
            // Its training forward draws a new mask or noise at each evaluation: the loss here is another function.
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(noisy.Name)}' ({noisy.TypeId}) draws random values in training, where inference is the identity, so the model's gradient cannot be checked against its inference loss; check a model built with {(noisy is GaussianNoise ? "stddev" : "rate")} 0 there, or the layer alone with GradientChecker.CheckLayer after a training forward, its FreezeNoise set.");
        }

        if (model.Layers.FirstOrDefault(l => l is BatchNormalization) is { } normalization)
        {
            // Its gradient is that of the batch's statistics, the loss here that of the running ones: every weight
            // below it would read as wrong (and each check would move the running statistics).
            throw new InvalidOperationException(
                $"Layer '{Names.Printable(normalization.Name)}' is a BatchNormalization, whose training (batch statistics) and inference (running statistics) are different functions, so the model's gradient cannot be checked against its inference loss; check the layer alone with GradientChecker.CheckLayer.");
        }
        if (!model.Layers.Any(l => l.ParameterCount > 0 && l is not Layer { Trainable: false }))
        {
            // A result of 0 errors over 0 derivatives would read as a pass.
            throw new InvalidOperationException(
                "The model has no parameter that trains (every layer with parameters has Trainable = false, or none has parameters), so there is no gradient to check; set Trainable = true on the layers to check.");
        }

        Check.Holds(inputs.Length, batch, model.InputSize, nameof(inputs), "batch", exact: true);
        Check.Holds(labels.Length, batch, 1, nameof(labels), "batch", unit: "labels", exact: true);
        float[] x = inputs[..(batch * model.InputSize)].ToArray();
        int[] y = labels[..batch].ToArray();
        // Held through the perturbations: another thread's training or prediction would see weights moved by ±h (from a
        // callback of Fit, the callbacks' window is closed meanwhile, as for a step).
        Sequential.TrainingCall call = model.BeginCall("GradientChecker.CheckModel");
        float[] outputs = ArrayPool<float>.Shared.Rent(batch * model.OutputSize);
        try
        {
            model.ComputeGradients(x, y, batch);
            float[] grad = model.Gradients.ToArray();
            var tracker = new ErrorTracker(floor);
            double Objective()
            {
                // The inputs checked as before; outputs that overflow give a NaN objective, a failed check rather than
                // the exception the public Infer throws for them.
                model.Infer(x, outputs, batch, checkFinite: true);
                double sum = loss.Sum(outputs, LossTargets.FromLabels(y), batch, model.OutputSize);
                return (loss.Reduction == Reduction.Sum ? sum : sum / batch) + model.RegularizationPenalty();
            }

            // The layers that train: one that does not gets no gradient (0), as Keras takes none for its variables.
            int offset = 0, checkedCount = 0;
            foreach (ILayer layer in model.Layers)
            {
                int count = layer.ParameterCount;
                if (count > 0 && layer is not Layer { Trainable: false })
                {
                    tracker.Compare("parameter", model.Parameters.Span.Slice(offset, count), grad.AsSpan(offset, count), step, Objective, offset);
                    checkedCount += count;
                }

                offset += count;
            }

            return new GradientCheckResult(0, tracker.Max, checkedCount, tracker.Worst);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputs);
            call.End();
        }
    }

    private static void CheckSettings(int batch, float step, double floor)
    {
        Check.Positive(batch, nameof(batch), "batch size");
        Check.Positive(step, nameof(step));

        Check.Positive(floor, nameof(floor));
    }

    private sealed class ErrorTracker(double floor)
    {
        public double Max { get; private set; }

        public string Worst { get; private set; } = "none";

        // first: the index of point[0] in what the worst place names.
        public void Compare(string what, Span<float> point, ReadOnlySpan<float> analytic, float step, Func<double> objective, int first = 0)
        {
            for (int i = 0; i < point.Length; i++)
            {
                float saved = point[i];
                float up = saved + step, down = saved - step;
                double fUp, fDown;
                try
                {
                    point[i] = up;
                    fUp = objective();
                    point[i] = down;
                    fDown = objective();
                }
                finally
                {
                    // Also when the objective throws: the checked weight is never left moved.
                    point[i] = saved;
                }

                // The representable step, not the nominal one.
                double numeric = (fUp - fDown) / ((double)up - down);
                double error = Math.Abs(analytic[i] - numeric) / Math.Max(Math.Abs(analytic[i]) + Math.Abs(numeric), floor);
                // A NaN error (an objective or a gradient that is not finite) is the worst there is and stays so: it made
                // `error > Max` false, and such a check read as passed with an error of 0.
                if (!double.IsNaN(Max) && (error > Max || double.IsNaN(error)))
                {
                    Max = error;
                    Worst = $"{what}[{first + i}]: analytic {analytic[i]:G6}, numeric {numeric:G6}";
                }
            }
        }
    }
}
