using MnistMlp;

namespace NeuralCore.Samples.Tests;

public class MnistMlpMemoryTests
{
    private const long Gib = 1L << 30;

    [Fact]
    public void Parameters_beyond_one_array_are_refused_naming_hidden()
    {
        var e = Assert.Throws<ArgumentException>(() => Trainer.CheckMemory(new TrainSettings { Hidden = [30000, 30000, 30000, 30000] }, 64 * Gib));
        Assert.Equal("--hidden 30000,30000,30000,30000 gives 2,723,940,010 parameters, more than one .NET array holds (2,147,483,591), and the model keeps them in one: use fewer or narrower hidden layers.", e.Message);
    }

    [Fact]
    public void A_batch_buffer_beyond_one_array_is_refused_naming_batch_size_before_the_data_loads()
    {
        // The case: on a machine with the memory, this passed the checks and Compile refused it after loading.
        var e = Assert.Throws<ArgumentException>(() => Trainer.CheckMemory(new TrainSettings { Hidden = [65536], BatchSize = 60000 }, 1L << 50));
        Assert.Equal("--batch-size 60000 with --hidden 65536 needs a buffer of 60,000 × 65,536 = 3,932,160,000 values for its widest layer, more than one .NET array holds (2,147,483,591): use at most --batch-size 32,767 at this width, or narrower layers.", e.Message);
        Trainer.CheckMemory(new TrainSettings { Hidden = [65536], BatchSize = 32767, Optimizer = "sgd" }, 1L << 50);
    }

    [Fact]
    public void Models_whose_file_would_exceed_the_format_limit_are_refused_naming_hidden()
    {
        // 784-16000-6000-10: 108.6 M parameters, 1.24 GiB with Adam's moments. Such a run trained, then saved a
        // checkpoint that evaluate refused (or, larger, failed to save at all).
        var e = Assert.Throws<ArgumentException>(() => Trainer.CheckMemory(new TrainSettings { Hidden = [16000, 6000] }, 64 * Gib));
        Assert.Equal("--hidden 16000,6000 (108,626,010 parameters) makes a model file of 1,243 MiB with adam's state, more than the 1,024 MiB a model file may hold, so the run could save neither a checkpoint nor model.ncm: use fewer or narrower hidden layers (at most 89,478,485 parameters with adam).", e.Message);

        // Plain SGD keeps no state: the same model's file is 414 MiB.
        Trainer.CheckMemory(new TrainSettings { Hidden = [16000, 6000], Optimizer = "sgd" }, 64 * Gib);
    }

    [Fact]
    public void The_estimate_counts_weights_state_buffers_and_data()
    {
        // 784-1000-10: 795,010 parameters; Adam: 6 floats each (weights and gradients twice, two moments).
        var adam = new TrainSettings { Hidden = [1000], BatchSize = 100 };
        decimal expected = (4m * 795_010 * 6) + (4m * 100 * (1010 + (2 * 1000))) + (4m * 70_000 * 784);
        Trainer.CheckMemory(adam, (long)expected);
        var e = Assert.Throws<InsufficientMemoryException>(() => Trainer.CheckMemory(adam, (long)expected - 1));
        Assert.Contains("--hidden 1000 (795,010 parameters)", e.Message, StringComparison.Ordinal);
        Assert.Contains("--batch-size 100", e.Message, StringComparison.Ordinal);

        // The trainer's SGD (no momentum) keeps no state, Lion one float per parameter, not Adam's two moments.
        Trainer.CheckMemory(adam with { Optimizer = "sgd" }, (long)expected - (8 * 795_010));
        Assert.Throws<InsufficientMemoryException>(() => Trainer.CheckMemory(adam with { Optimizer = "sgd" }, (long)expected - (8 * 795_010) - 1));
        Trainer.CheckMemory(adam with { Optimizer = "lion" }, (long)expected - (4 * 795_010));
        Assert.Throws<InsufficientMemoryException>(() => Trainer.CheckMemory(adam with { Optimizer = "lion" }, (long)expected - (4 * 795_010) - 1));
    }

    [Fact]
    public void Default_runs_pass_on_a_small_machine()
    {
        Trainer.CheckMemory(new TrainSettings(), Gib);
        Trainer.CheckMemory(new TrainSettings { Hidden = [512, 256], BatchSize = 128 }, Gib);
    }
}
