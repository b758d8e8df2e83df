namespace NeuralCore.Layers;

/// <summary>
/// A layer of a feed-forward network over batches of row-major samples.
/// </summary>
/// <remarks>
/// Shapes: <c>input</c> is <c>[batch, InputSize]</c>, <c>output</c> is <c>[batch, OutputSize]</c>. Forward and
/// Backward work in caller-owned buffers. Backward overwrites the input gradient and <b>accumulates</b> parameter
/// gradients, so the caller zeroes <see cref="Gradients"/> once per step.
/// </remarks>
public interface ILayer
{
    /// <summary>The layer's name (Keras-style, e.g. <c>dense_1</c>); a model makes names unique.</summary>
    string Name { get; set; }

    /// <summary>
    /// The stable id of the layer's type (Keras's class name, e.g. <c>Dense</c>, <c>ReLU</c>): the summary shows it and
    /// model files store it, with <see cref="WriteConfig"/>'s settings, to rebuild the layer through
    /// <see cref="Configuration.ComponentRegistry"/>.
    /// </summary>
    string TypeId { get; }

    /// <summary>Writes the settings that rebuild this layer (not its name, sizes known from the model, or parameters).</summary>
    /// <param name="config">The config to write to.</param>
    void WriteConfig(Configuration.ComponentConfig config);

    /// <summary>Whether <see cref="Build"/> has fixed the sizes (layers constructed with an input size are built at once).</summary>
    bool IsBuilt { get; }

    /// <summary>Features per input sample; valid once built.</summary>
    int InputSize { get; }

    /// <summary>Features per output sample; valid once built.</summary>
    int OutputSize { get; }

    /// <summary>The number of trainable parameters (0 for layers without any).</summary>
    int ParameterCount { get; }

    /// <summary>The <see cref="ParameterCount"/> trainable parameters, in the layer's documented order.</summary>
    Memory<float> Parameters { get; }

    /// <summary>The gradients of the loss with respect to <see cref="Parameters"/>, same layout.</summary>
    Memory<float> Gradients { get; }

    /// <summary>
    /// Fixes the input size, allocates the layer's own parameter storage and initializes it from <paramref name="seed"/>.
    /// </summary>
    /// <param name="inputSize">Features per input sample; positive.</param>
    /// <param name="seed">The seed of the layer's initializer and of any randomness it draws in training.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive, or the layer's parameters or per-feature state over it are more than one array holds.</exception>
    /// <exception cref="InvalidOperationException">The layer is already built with another input size.</exception>
    /// <exception cref="InsufficientMemoryException">The layer's parameters or state are more than the memory this process may use.</exception>
    void Build(int inputSize, ulong seed);

    /// <summary>
    /// Moves the parameters into caller-owned storage (a model's flat arena): copies the current values into
    /// <paramref name="parameters"/>, then reads and writes there.
    /// </summary>
    /// <param name="parameters">Exactly <see cref="ParameterCount"/> floats.</param>
    /// <param name="gradients">Exactly <see cref="ParameterCount"/> floats.</param>
    /// <exception cref="ArgumentException">A length differs from <see cref="ParameterCount"/>.</exception>
    void BindParameters(Memory<float> parameters, Memory<float> gradients);

    /// <summary>Computes <c>output[batch, OutputSize]</c> from <c>input[batch, InputSize]</c>; leaves the input untouched.</summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input.</param>
    /// <param name="output">The <c>[batch, OutputSize]</c> output, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <param name="training">Training mode (dropout draws masks); inference mode is deterministic and stateless.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training);

    /// <summary>
    /// Given <c>outputGrad = ∂L/∂output</c>, writes <c>inputGrad = ∂L/∂input</c> (overwriting) and adds
    /// <c>∂L/∂parameters</c> to <see cref="Gradients"/>. Uses the input and output of the last training-mode Forward.
    /// </summary>
    /// <param name="input">The <c>[batch, InputSize]</c> input given to Forward.</param>
    /// <param name="output">The <c>[batch, OutputSize]</c> output Forward produced.</param>
    /// <param name="outputGrad">The <c>[batch, OutputSize]</c> gradient with respect to the output.</param>
    /// <param name="inputGrad">The <c>[batch, InputSize]</c> gradient with respect to the input; empty to skip it (a first layer).</param>
    /// <param name="batch">The number of samples.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape.</exception>
    void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch);
}
