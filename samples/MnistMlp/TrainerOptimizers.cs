using NeuralCore.Optimizers;

namespace MnistMlp;

/// <summary>The optimizers <c>--optimizer</c> offers, each with the learning rate it starts from when <c>--learning-rate</c> is not given.</summary>
internal static class TrainerOptimizers
{
    /// <summary>One optimizer: its name on the command line, its default rate, and how to build it.</summary>
    internal sealed record Choice(string Name, float DefaultRate, Func<float, IOptimizer> Create)
    {
        /// <summary>The floats of state the optimizer keeps per parameter, as it reports them (its state over one parameter).</summary>
        public int StateSlots
        {
            get
            {
                IOptimizer optimizer = Create(DefaultRate);
                optimizer.Initialize(1);
                return optimizer.State.Length;
            }
        }
    }

    /// <summary>
    /// Keras's default learning rates, except three that train poorly here. Test accuracy after the trainer's defaults
    /// with <c>--epochs 3</c> (784-128-10, seed 42; AMD EPYC Zen 5, 2 real cores, 2026-12-01): adam 0.001 97.44%, rmsprop 0.001 97.35%,
    /// nadam 0.001 97.58%, adamax 0.001 95.66% (0.004: 97.36%); adagrad 0.01 94.28%, 0.1 97.23% (Keras's 0.001 is ten
    /// times slower still); adadelta 0.001 55.66%, 1.0 97.24%; lion 0.001 95.21%, 0.0003 97.07%, 0.0001 97.24%. LAMB keeps
    /// Keras's 0.001 (AMD EPYC Zen 4, 2 real cores, 2026-12-02: 96.45%; 0.0005 95.12%, 0.002 97.48%, 0.003 97.36%, 0.01 diverged to
    /// 11.38%; adam 97.44% there). Adafactor (its step ρ = min(lr, 1/√t) times the parameters' RMS) at Keras's 0.001
    /// reached 92.77%, at 0.01 97.20% and at 0.1 97.15% (AMD EPYC Zen 4, 2 real cores, 2026-12-02), so 0.01.
    /// </summary>
    public static IReadOnlyList<Choice> All { get; } =
    [
        new("adam", 1e-3f, rate => new Adam(rate)),
        new("sgd", 1e-2f, rate => new Sgd(new SgdOptions(rate))),
        new("rmsprop", 1e-3f, rate => new RmsProp(rate)),
        new("adagrad", 0.1f, rate => new Adagrad(rate)),
        new("adadelta", 1f, rate => new Adadelta(rate)),
        new("adamax", 1e-3f, rate => new Adamax(rate)),
        new("nadam", 1e-3f, rate => new Nadam(rate)),
        new("lion", 1e-4f, rate => new Lion(rate)),
        new("lamb", 1e-3f, rate => new Lamb(rate)),
        new("adafactor", 1e-2f, rate => new Adafactor(rate)),
    ];

    /// <summary>The names, in the order of <see cref="All"/>.</summary>
    public static string[] Names { get; } = [.. All.Select(c => c.Name)];

    /// <summary>The choice called <paramref name="name"/> (the command line has checked it is one).</summary>
    public static Choice Get(string name) => All.First(c => c.Name == name);

    /// <summary>The option's help text.</summary>
    public static string Describe() =>
        "The optimizer, with its default learning rate: " + string.Join(", ", All.Select(c => $"{c.Name} ({c.DefaultRate:G3})")) +
        ". Keras's defaults, except adagrad (Keras 0.001) and adadelta (Keras 0.001; 1.0 is the paper's and PyTorch's), whose Keras rates barely train in a few epochs, lion (Keras 0.001), whose ±lr steps overshoot at that rate, and adafactor (Keras 0.001), whose relative steps are small at that rate.";
}
