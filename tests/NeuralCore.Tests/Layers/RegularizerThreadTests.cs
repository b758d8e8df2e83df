using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Tests.Kernels;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>
/// Regularizers in a training step on several threads: the penalty's column sums divided among them
/// (<see cref="Dense.TrainingPenalty"/>) and the gradient terms added by the update's threads
/// (<see cref="OptimizerStep"/>) keep the one-thread bits. They change <see cref="Parallelism"/>, so they run alone.
/// </summary>
[Collection(SerialTests.Name)]
public sealed class RegularizerThreadTests
{
    private const int Inputs = 100, Batch = 128;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_training_penalty_divided_among_threads_has_the_bits_of_one_thread(bool panelOrder)
    {
        // Dense.TrainingPenalty divides a large kernel's column sums among the step's threads; every column's sums stay on
        // one thread, so the total must be bitwise the one-thread RegularizationPenalty, in either weight order. 520
        // units: sixteen strips of 32 and a tail of 8 that the last slice takes; more than 256 biases, which
        // RegularizerKernels.Penalty would sum in rows of 256. Weights of several magnitudes, so that
        // float sums in another order would differ in their last bits.
        int savedThreads = Parallelism.DegreeOfParallelism, savedMin = Dense.MinParallelPenaltyWeights;
        try
        {
            Dense.MinParallelPenaltyWeights = 0;
            var model = new Sequential(300, seed: 4)
                .Add(new Dense(panelOrder ? 512 : 520) { KernelRegularizer = new Regularizer(3e-4f, 7e-3f), BiasRegularizer = Regularizer.L2(0.1f) })
                .Add(new Relu()).Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f));
            Span<float> p = model.Parameters.Span;
            var random = new Random(9);
            for (int i = 0; i < p.Length; i++)
            {
                p[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 3)));
            }

            var dense = (Dense)model.Layers[0];
            double expected = dense.RegularizationPenalty();
            Assert.True(!panelOrder || model.EnterPanelOrder());
            try
            {
                Assert.Equal(expected, dense.RegularizationPenalty());
                // With the minimum lowered, the threads of a large batch's step own the panel-order layer's columns and sum those.
                PanelLayoutTests.WithOwnedColumns(1, () =>
                {
                    foreach (int threads in new[] { 1, 2, 3, 5 })
                    {
                        Parallelism.DegreeOfParallelism = threads;
                        Parallelism.FmaThreadsOverride = threads;
                        if (panelOrder && threads == 2)
                        {
                            Assert.True(dense.PanelOrder.OwnedColumnSlices(4096) == 2, "two threads do not own the columns at batch 4096");
                        }

                        foreach (int batch in new[] { 8, 4096 })
                        {
                            Assert.True(expected == dense.TrainingPenalty(batch), $"{threads} threads, batch {batch}: {dense.TrainingPenalty(batch):R} against {expected:R}");
                        }
                    }
                });
            }
            finally
            {
                model.ExitPanelOrder();
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
            Dense.MinParallelPenaltyWeights = savedMin;
        }
    }

    public static TheoryData<string, bool> StepOptimizers => new()
    {
        { "adam", false }, { "adam", true }, { "sgd", false }, { "lion", true }, { "clipnorm", false }, { "clipvalue", true }, { "adamw", false },
        { "huge", false }, { "lamb", false },
    };

    [Theory]
    [MemberData(nameof(StepOptimizers))]
    public void A_training_step_is_bitwise_the_gradients_then_the_optimizers_update(string setup, bool panelOrder)
    {
        // TrainStep leaves the regularizers' gradient terms to the update's threads, range by range (OptimizerStep), where
        // the optimizer allows it; ComputeGradients adds them all before returning. The parameters, the optimizer's state
        // and the gradient arena must come out the same bits either way, at any thread count. In panel order with two
        // threads owning the first layer's 512 columns (eight panels each on the 512-bit path), its bias is a range of its own.
        int savedThreads = Parallelism.DegreeOfParallelism, savedMin = Dense.MinParallelPenaltyWeights;
        try
        {
            Dense.MinParallelPenaltyWeights = 0;
            Sequential Build()
            {
                // "huge": a finite loss above the one at which the step reads the gradients first (Sequential.GradientCheckLoss),
                // whose terms are then added before the update, and the step applied.
                var model = new Sequential(Inputs, seed: 6)
                    .Add(new Dense(512) { KernelRegularizer = setup == "huge" ? Regularizer.L2(1e10f) : new Regularizer(1e-3f, 1e-2f), BiasRegularizer = Regularizer.L1(1e-2f) }).Add(new Relu())
                    .Add(new Dense(24) { KernelRegularizer = Regularizer.L2(5e-3f) }).Add(new Relu())
                    .Add(new Dense(4) { BiasRegularizer = Regularizer.L2(1e-2f) });
                Optimizer optimizer = setup switch
                {
                    "sgd" => new Sgd(new SgdOptions(0.05f, 0.9f)),
                    "lion" => new Lion(1e-3f),
                    "lamb" => new Lamb(1e-2f) { WeightDecay = 0.01f },
                    "clipnorm" => new Adam(1e-2f) { ClipNorm = 0.05f },
                    "clipvalue" => new Adam(1e-2f) { ClipValue = 0.002f },
                    "adamw" => new Adam(1e-2f) { WeightDecay = 0.01f },
                    _ => new Adam(1e-2f),
                };
                model.Compile(new SoftmaxCrossEntropy(), optimizer);
                return model;
            }

            float[] x = Seeded.Uniform(Batch * Inputs, 21);
            int[] y = [.. Enumerable.Range(0, Batch).Select(i => i % 4)];

            Parallelism.DegreeOfParallelism = 1;
            Sequential reference = Build();
            var referenceLosses = new List<double>();
            for (int step = 0; step < 5; step++)
            {
                referenceLosses.Add(reference.ComputeGradients(x, y, Batch).Loss);
                reference.Optimizer!.Update(reference.Parameters.Span, reference.Gradients.Span);
            }

            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.DegreeOfParallelism = threads;
                Parallelism.FmaThreadsOverride = threads;
                Sequential model = Build();
                PanelLayoutTests.WithOwnedColumns(1, () =>
                {
                    // Clipping by norm keeps the weights row-major (EnterPanelOrder refuses it).
                    Assert.Equal(panelOrder && setup != "clipnorm", panelOrder && model.EnterPanelOrder());
                    if (panelOrder && setup != "clipnorm" && threads == 2 && PanelLayout.TryCreate(Inputs, 512, KernelIsaSupport.Best, out PanelLayout layout))
                    {
                        using Parallelism.ThreadLimit limit = Parallelism.LimitTo(model.StepThreads(Batch));
                        Assert.True(layout.OwnedColumnSlices(Batch) == 2, "two threads do not own the first layer's columns");
                    }

                    for (int step = 0; step < 5; step++)
                    {
                        TrainStepResult result = model.TrainStep(x, y, Batch);
                        Assert.Equal(referenceLosses[step], result.Loss);
                        Assert.False(result.Skipped, $"step {step} was skipped");
                        Assert.True(setup != "huge" || result.Loss > Sequential.GradientCheckLoss, $"step {step}'s loss {result.Loss} is below the check");
                    }

                    model.ExitPanelOrder();
                });

                string what = $"{setup}, {threads} threads";
                Assert.True(reference.Parameters.Span.SequenceEqual(model.Parameters.Span), $"{what}: parameters differ");
                Assert.True(((Optimizer)reference.Optimizer!).State.Span.SequenceEqual(((Optimizer)model.Optimizer!).State.Span), $"{what}: optimizer state differs");
                Assert.True(reference.Gradients.Span.SequenceEqual(model.Gradients.Span), $"{what}: gradients differ");
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
            Dense.MinParallelPenaltyWeights = savedMin;
        }
    }
}
