using NeuralCore.Configuration;
using NeuralCore.Layers;
using NeuralCore.Models;

namespace NeuralCore.Tests.Models;

/// <summary>A model the process cannot hold is refused by name before anything large is allocated.</summary>
public class MemoryPreflightTests
{
    [Fact]
    public void A_model_whose_parameters_outgrow_one_array_is_refused_before_the_next_layer_allocates()
    {
        var model = new Sequential(10).Add(new Claimed(2_000_000_000));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ArgumentException>(() => model.Add(new Dense(20_000_000)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("layer", e.ParamName);
        Assert.StartsWith("With layer 'Dense' (220,000,000 parameters) the model would have 2,220,000,000 parameters, more than one array holds (2,147,483,591)", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"the refused layer allocated {allocated} bytes");
        Assert.Single(model.Layers);
    }

    [Fact]
    public void A_layer_built_before_it_is_added_is_counted_too()
    {
        var model = new Sequential(10).Add(new Claimed(2_147_000_000));
        var e = Assert.Throws<ArgumentException>(() => model.Add(new Dense(10, 100_000, seed: 1)));
        Assert.Contains("the model would have 2,148,100,000 parameters", e.Message, StringComparison.Ordinal);
        Assert.Single(model.Layers);
    }

    [Fact]
    public void Memory_beyond_what_the_process_may_use_is_refused_with_what_needs_it()
    {
        var e = Assert.Throws<InsufficientMemoryException>(() => Check.FitsInMemory(1e20m, "The thing", "use less"));
        Assert.Matches(@"^The thing needs [\d,]+ MiB, more than the [\d,]+ MiB this process may use; use less\.$", e.Message);
        Check.FitsInMemory(1 << 20, "A megabyte", "never");
    }

    /// <summary>A layer that claims a parameter count without allocating it, to reach the limit cheaply.</summary>
    private sealed class Claimed(int count) : ILayer
    {
        public string Name { get; set; } = "claimed";

        public string TypeId => "Claimed";

        public bool IsBuilt { get; private set; }

        public int InputSize { get; private set; }

        public int OutputSize => 10;

        public int ParameterCount => count;

        public Memory<float> Parameters => Memory<float>.Empty;

        public Memory<float> Gradients => Memory<float>.Empty;

        public void WriteConfig(ComponentConfig config)
        {
        }

        public void Build(int inputSize, ulong seed)
        {
            InputSize = inputSize;
            IsBuilt = true;
        }

        public void BindParameters(Memory<float> parameters, Memory<float> gradients) => throw new NotSupportedException();

        public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => throw new NotSupportedException();

        public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            throw new NotSupportedException();
    }
}
