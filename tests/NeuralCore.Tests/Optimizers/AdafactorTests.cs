using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// Adafactor beyond the Keras golden steps (<see cref="KerasOptimizerTests"/>): its factored state by hand, updates in
/// pieces that split rows, the model's thread counts, and its refusals.
/// </summary>
[Collection(SerialTests.Name)]
public class AdafactorTests
{
    [Fact]
    public void A_matrix_keeps_row_and_column_means_of_the_squared_gradient_in_its_slots()
    {
        // Step 1: β = 1 - 1^-0.8 = 0, so r and c are the plain means of g² (+ ε1, lost to rounding here).
        var adafactor = new Adafactor(0.1f);
        adafactor.Initialize(6, [new ParameterSegment("w", 0, 6, ParameterRole.Weight) { Columns = 3 }]);
        float[] theta = [0.5f, -1.5f, 2f, 0f, 0.25f, -0.75f];
        float[] g = [1f, 2f, 3f, 4f, 5f, 6f];
        adafactor.Update(theta, g);
        float[] state = adafactor.State.ToArray();
        // Rows: (1 + 4 + 9) / 3 and (16 + 25 + 36) / 3; columns: (1 + 16) / 2, (4 + 25) / 2, (9 + 36) / 2.
        Assert.Equal([14f / 3, 77f / 3], state[..2]);
        Assert.Equal([8.5f, 14.5f, 22.5f], state[6..9]);
        Assert.All(state[2..6].Concat(state[9..]), s => Assert.Equal(0f, s));
    }

    [Fact]
    public void A_row_and_a_column_of_zero_gradients_leave_the_kernel_finite()
    {
        // Row 0 and column 0 of the gradient are 0 (a blank pixel's row, a unit no sample activates): r_0 = ε1 = 1e-30
        // against mean(r) = 2.5e5, c_0 = 1e-30, so Keras's v_00 = 4e-36 × 1e-30 underflows to 0 and u_00 = 0/√0 = NaN,
        // and the RMS made all of the kernel NaN (an MNIST model did so at its first step).
        var adafactor = new Adafactor(0.01f);
        adafactor.Initialize(4, [new ParameterSegment("w", 0, 4, ParameterRole.Weight) { Columns = 2 }]);
        float[] theta = [0.5f, -0.5f, 0.25f, 1f];
        adafactor.Update(theta, [0f, 0f, 0f, 1e3f]);
        Assert.All(theta, t => Assert.True(float.IsFinite(t), $"parameter {t}"));
        Assert.Equal([0.5f, -0.5f, 0.25f], theta[..3]);
        Assert.True(theta[3] < 1f);
    }

    [Theory]
    [InlineData(4, 1024)]
    [InlineData(1024, 4)]
    public void Gradients_the_model_lets_through_leave_the_kernel_finite(int rows, int columns)
    {
        // The model updates with gradients up to 1.8e19 (squares finite); float sums of 1,024 squares of 6e17 overflowed
        // to ∞ and ∞/∞ made every weight NaN, where Adam moved each by its step.
        foreach (float size in new[] { 6e17f, 1e19f, Optimizer.MaxCheckedGradient })
        {
            var adafactor = new Adafactor(0.5f);
            adafactor.Initialize(rows * columns, [new ParameterSegment("w", 0, rows * columns, ParameterRole.Weight) { Columns = columns }]);
            float[] theta = [.. Enumerable.Repeat(0.5f, rows * columns)];
            float[] g = [.. Enumerable.Range(0, rows * columns).Select(i => i % 3 == 0 ? -size : size)];
            adafactor.Update(theta, g);
            Assert.All(theta, t => Assert.True(float.IsFinite(t), $"{size}: parameter {t}"));
            // Every |u| is 1 here, so each weight moves by α = max(ε2, 0.5)·min(0.5, 1) = 0.25 against its gradient's sign.
            Assert.Equal(0.75f, theta[0], 5);
            Assert.Equal(0.25f, theta[1], 5);
        }
    }

    [Fact]
    public void A_weight_decay_past_one_keeps_the_parameters_rms()
    {
        // Keras decays θ = 1 by 3 × 0.5 to -0.5 before the step, whose α = max(ε2, RMS(-0.5))·ρ = 0.5 × 0.5 = 0.25: θ = -0.75.
        // (1 - decay) itself is negative, so max(ε2, ·) took ε2 and moved θ by 5e-4 only.
        var adafactor = new Adafactor(0.5f) { WeightDecay = 3f };
        adafactor.Initialize(4);
        float[] theta = [1f, 1f, 1f, 1f];
        adafactor.Update(theta, [1f, 1f, 1f, 1f]);
        Assert.All(theta, t => Assert.Equal(-0.75f, t, 5));
    }

    [Fact]
    public void Updating_in_pieces_that_split_rows_is_updating_at_once()
    {
        // The model hands the rule ranges of the arena; a range may start and end inside a row of a matrix.
        ParameterSegment[] segments =
        [
            new("dense/kernel", 0, 35, ParameterRole.Weight) { Columns = 7 },
            new("dense/bias", 35, 7, ParameterRole.Bias),
        ];
        float[] whole = Seeded.Uniform(42, 1, 1f), pieces = (float[])whole.Clone();
        var once = new Adafactor(0.05f) { WeightDecay = 0.01f };
        var split = new Adafactor(0.05f) { WeightDecay = 0.01f };
        once.Initialize(42, segments);
        split.Initialize(42, segments);
        for (int t = 1; t <= 4; t++)
        {
            float[] g = Seeded.Uniform(42, 10 + t, 1f);
            once.Update(whole, g);
            IElementwiseOptimizer rule = split;
            rule.BeginStep(pieces, g);
            foreach ((int start, int length) in new[] { (0, 5), (5, 11), (16, 19), (35, 3), (38, 4) })
            {
                rule.UpdateRange(pieces, g, start, length);
            }

            rule.EndStep();
        }

        Assert.Equal(whole, pieces);
        Assert.Equal(once.State.ToArray(), split.State.ToArray());
    }

    [Fact]
    public void A_model_trains_with_it_and_gets_the_same_bits_on_one_thread_and_on_two()
    {
        var (x, y) = FitTests.Blobs(256, 3);
        (float[] Parameters, IReadOnlyList<double> Loss) Run(int threads)
        {
            int saved = Parallelism.DegreeOfParallelism;
            try
            {
                Parallelism.DegreeOfParallelism = threads;
                Parallelism.FmaThreadsOverride = threads;
                Sequential model = new Sequential(2, seed: 4).Add(new Dense(256)).Add(new Relu()).Add(new Dense(4));
                model.Compile(new SoftmaxCrossEntropy(), new Adafactor(0.05f));
                History history = model.Fit(x, y, new FitOptions { Epochs = 6, BatchSize = 64, MeasureStepThreads = false });
                return (model.Parameters.ToArray(), history.Loss);
            }
            finally
            {
                Parallelism.DegreeOfParallelism = saved;
                Parallelism.FmaThreadsOverride = 0;
            }
        }

        (float[] one, IReadOnlyList<double> loss) = Run(1);
        (float[] two, _) = Run(2);
        Assert.True(loss[^1] < 0.5 * loss[0], $"loss {loss[0]} -> {loss[^1]}");
        Assert.Equal(one, two);
    }

    [Fact]
    public void Columns_that_do_not_divide_a_variable_are_refused_by_name()
    {
        var adafactor = new Adafactor();
        var e = Assert.Throws<ArgumentException>(() =>
            adafactor.Initialize(10, [new ParameterSegment("odd/kernel", 0, 10, ParameterRole.Weight) { Columns = 3 }]));
        Assert.Contains("'odd/kernel' has 10 elements, which 3 columns do not divide", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() =>
            adafactor.Initialize(10, [new ParameterSegment("negative", 0, 10, ParameterRole.Weight) { Columns = -2 }]));
    }

    [Fact]
    public void A_dense_kernel_is_a_matrix_of_its_units_and_its_bias_a_vector()
    {
        Sequential model = new Sequential(5).Add(new Dense(3, name: "d"));
        model.Compile(new MeanSquaredError(), new Adafactor());
        var adafactor = (Adafactor)model.Optimizer!;
        Assert.Equal([("d/kernel", 15, 3), ("d/bias", 3, 0)], adafactor.Segments.Select(s => (s.Name, s.Length, s.Columns)));
    }
}
