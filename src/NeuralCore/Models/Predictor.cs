using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;

namespace NeuralCore.Models;

/// <summary>
/// A frozen copy of a <see cref="Sequential"/> for inference (<see cref="Sequential.CreatePredictor"/>). Each dense
/// layer's weights are copied and packed once into the panel layout the matrix product reads, so that predicting a
/// batch does not pack them again: a batch of 64 took 6-15% less time than <see cref="Sequential.Predict(ReadOnlySpan{float}, Span{float}, int)"/>
/// on the models of docs/benchmarks.md (AMD EPYC Zen 5, two real cores). Batches of at most four samples (eight for a
/// layer of at most 128K weights, with AVX-512) read the weights unpacked, in chunks of 128 columns stored one after the other (one
/// sample of 784-512-256-10 took 5-12% less time than from the row-major weights, on the same machine). Predictions are
/// bitwise those the model gave when the predictor was created; training or editing the model afterwards does not
/// change them. Safe to call from several threads at once.
/// </summary>
/// <remarks>
/// A batch normalization is copied with its running statistics, a layer normalization with its parameters, and an
/// input normalization with its statistics. Layers without parameters (activations, dropout,
/// which is the identity here) are shared with the model: the
/// built-in ones cannot change their settings, but a custom layer whose settings can change would change the
/// predictor's outputs too. The predictor holds each weight twice (as given and packed), and a third time, in column
/// chunks for the small batches, in a layer of more than 128 units; a layer of at most 16 units on the 512-bit path is
/// held once and always read unpacked.
/// </remarks>
public sealed class Predictor
{
    private readonly ILayer[] _layers;
    private readonly bool[] _fusedRelu;
    private readonly Dense.Frozen?[] _frozen;
    private readonly ILoss? _loss;

    internal Predictor(IReadOnlyList<ILayer> layers, bool[] fusedRelu, ILoss? loss, string name)
    {
        if (layers.Count == 0)
        {
            throw new InvalidOperationException("The model has no layers.");
        }

        _layers = [.. layers];
        _fusedRelu = (bool[])fusedRelu.Clone();
        _frozen = new Dense.Frozen?[_layers.Length];
        for (int i = 0; i < _layers.Length; i++)
        {
            ILayer layer = _layers[i];
            if (layer is Dense dense)
            {
                _frozen[i] = dense.Freeze();
            }
            else if (layer is Layer { } own && own.CopyForPrediction() is { } copy)
            {
                // A copy of its parameters and state (BatchNormalization's running statistics): later training moves the model's.
                _layers[i] = copy;
            }
            else if (layer.ParameterCount > 0)
            {
                throw new NotSupportedException(
                    $"Layer '{Names.Printable(layer.Name)}' ({layer.GetType().Name}) has {layer.ParameterCount} parameters and no copy for prediction (Dense, BatchNormalization and LayerNormalization have one): predict with the model itself.");
            }
        }

        _loss = loss;
        Name = name;
    }

    /// <summary>The name of the model the predictor was created from.</summary>
    public string Name { get; }

    /// <summary>Features per sample.</summary>
    public int InputSize => _layers[0].InputSize;

    /// <summary>Values per prediction.</summary>
    public int OutputSize => _layers[^1].OutputSize;

    /// <summary>
    /// Predictions for a batch, as <see cref="Sequential.Predict(ReadOnlySpan{float}, Span{float}, int)"/> gave them
    /// when the predictor was created: class probabilities for a loss on logits, the last layer's outputs otherwise.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="predictions">The <c>[batch, OutputSize]</c> predictions, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an input is NaN or infinite (named by its row and column).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative, or too large for one activation buffer.</exception>
    /// <exception cref="InsufficientMemoryException">The batch's activation buffers need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">An output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> predictions, int batch)
    {
        Predict(inputs, predictions, batch, checkFinite: true);
    }

    private void Predict(ReadOnlySpan<float> inputs, Span<float> predictions, int batch, bool checkFinite)
    {
        Sequential.CheckPredictions(predictions, batch, OutputSize);
        Sequential.InferLayers(_layers, _fusedRelu, _frozen, inputs, predictions, batch, checkFinite);
        _loss?.ToPredictions(predictions, predictions, batch, OutputSize);
        Sequential.CheckOutputsFinite(predictions[..(batch * OutputSize)], OutputSize, 0, this, static p => p.ParametersFinite());
    }

    // Whether the copies of the parameters are all finite, for the message of an output that is not.
    private bool ParametersFinite()
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            bool finite = _frozen[i] is { } frozen
                ? Elementwise.IndexOfNonFinite(frozen.Weights.Values) < 0 && Elementwise.IndexOfNonFinite(frozen.Bias) < 0
                : _layers[i] is not Layer layer || Elementwise.IndexOfNonFinite(layer.ParameterStorage.Span) < 0;
            if (!finite)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The prediction for one sample (see <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/>).</summary>
    /// <param name="sample">The <c>[InputSize]</c> sample.</param>
    /// <returns>The <c>[OutputSize]</c> prediction.</returns>
    /// <exception cref="ArgumentException"><paramref name="sample"/> does not have <see cref="InputSize"/> features, or one of them is NaN or infinite.</exception>
    /// <exception cref="InvalidOperationException">An output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public float[] Predict(ReadOnlySpan<float> sample)
    {
        if (sample.Length != InputSize)
        {
            throw new ArgumentException($"The sample has {sample.Length} features but the predictor expects {InputSize}.", nameof(sample));
        }

        Check.Finite(sample, InputSize, nameof(sample));
        float[] prediction = new float[OutputSize];
        Predict(sample, prediction, 1, checkFinite: false);
        return prediction;
    }

    /// <summary>
    /// The raw outputs of the last layer for a batch (logits when the loss expects them), as
    /// <see cref="Sequential.Infer(ReadOnlySpan{float}, Span{float}, int)"/> gave them when the predictor was created.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="outputs">The <c>[batch, OutputSize]</c> outputs, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an input is NaN or infinite (named by its row and column).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative, or too large for one activation buffer.</exception>
    /// <exception cref="InsufficientMemoryException">The batch's activation buffers need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">An output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public void Infer(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        Sequential.InferLayers(_layers, _fusedRelu, _frozen, inputs, outputs, batch, checkFinite: true);
        Sequential.CheckOutputsFinite(outputs[..(batch * OutputSize)], OutputSize, 0, this, static p => p.ParametersFinite());
    }
}
