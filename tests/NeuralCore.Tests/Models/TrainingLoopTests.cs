using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Models;

/// <summary>
/// A loop of the caller's own inside <see cref="Sequential.BeginTrainingLoop"/> keeps the first layer in its products'
/// order between steps, as Fit does. Nothing a user can see may change: every step, read and save inside the loop gives
/// bitwise what the same calls give without it, at one thread and two, and the loop holds the model as Fit does.
/// </summary>
[Collection(SerialTests.Name)]
public class TrainingLoopTests
{
    private const int Features = 300;
    private const int Batch = 32;

    private static Sequential Build(Func<IOptimizer> optimizer)
    {
        // 256 units: two threads can each own whole panels of the first layer.
        var model = new Sequential(Features, seed: 9).Add(new Dense(256)).Add(new Relu()).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), optimizer(), Batch);
        return model;
    }

    private static (float[] X, int[] Y) Data(int steps)
    {
        float[] x = Seeded.Uniform(steps * Batch * Features, 4);
        for (int i = 0; i < x.Length; i += 3)
        {
            // Zeros among the inputs, as an image's border: the first layer's products skip them in panel order.
            x[i] = 0;
        }

        int[] y = [.. Enumerable.Range(0, steps * Batch).Select(i => (i * 7) % 10)];
        return (x, y);
    }

    private static T WithThreads<T>(int threads, Func<T> run)
    {
        int savedThreads = Parallelism.DegreeOfParallelism, savedColumns = PanelLayout.MinOwnedColumns;
        try
        {
            Parallelism.DegreeOfParallelism = threads;
            Parallelism.FmaThreadsOverride = threads;
            PanelLayout.MinOwnedColumns = 1;
            return run();
        }
        finally
        {
            Parallelism.DegreeOfParallelism = savedThreads;
            Parallelism.FmaThreadsOverride = 0;
            PanelLayout.MinOwnedColumns = savedColumns;
        }
    }

    // Trains `steps` steps, reading predictions (and the parameters) after the steps listed in `readAfter`; returns the
    // final parameters, optimizer state and every read, and whether the loop had the first layer in panel order at some
    // step.
    private static (float[] Parameters, float[] State, List<float[]> Reads, bool WasInPanelOrder) Run(
        Func<IOptimizer> optimizer, int threads, bool loop, int steps, HashSet<int> readAfter)
    {
        (float[] x, int[] y) = Data(steps);
        return WithThreads(threads, () =>
        {
            Sequential model = Build(optimizer);
            var reads = new List<float[]>();
            bool ordered = false;
            TrainingLoop? scope = loop ? model.BeginTrainingLoop() : null;
            try
            {
                for (int step = 0; step < steps; step++)
                {
                    model.TrainStep(x.AsSpan(step * Batch * Features, Batch * Features), y.AsSpan(step * Batch, Batch), Batch);
                    ordered |= model.IsInPanelOrder;
                    if (readAfter.Contains(step))
                    {
                        var predictions = new float[4 * 10];
                        model.Predict(x.AsSpan(0, 4 * Features), predictions, 4);
                        reads.Add(predictions);
                        reads.Add(model.Parameters.ToArray());
                    }
                }
            }
            finally
            {
                scope?.Dispose();
            }

            Assert.False(model.IsInPanelOrder);
            return (model.Parameters.ToArray(), ((Optimizer)model.Optimizer!).State.ToArray(), reads, ordered);
        });
    }

    public static TheoryData<string, int> Cases => new() { { "adam", 1 }, { "adam", 2 }, { "sgd", 2 }, { "rmsprop", 1 } };

    private static Func<IOptimizer> Optimizer(string name) => name switch
    {
        "adam" => () => new Adam(),
        "sgd" => () => new Sgd(new SgdOptions(0.05f, Momentum: 0.9f, Nesterov: true)),
        _ => () => new RmsProp(),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_and_reads_inside_a_loop_are_bitwise_those_without_it(string optimizer, int threads)
    {
        // Reads after steps 2 and 3 (row-major steps in between: fewer than StepsBeforePanelOrder), then after a run of
        // steps in panel order, and after the last step.
        var readAfter = new HashSet<int> { 2, 3, 24, 25, 43 };
        int steps = 44;
        var plain = Run(Optimizer(optimizer), threads, loop: false, steps, readAfter);
        var looped = Run(Optimizer(optimizer), threads, loop: true, steps, readAfter);

        Assert.True(looped.WasInPanelOrder, "the loop never put the first layer in panel order");
        Assert.False(plain.WasInPanelOrder);
        Assert.Equal(plain.Reads.Count, looped.Reads.Count);
        for (int i = 0; i < plain.Reads.Count; i++)
        {
            int same = plain.Reads[i].AsSpan().CommonPrefixLength(looped.Reads[i]);
            Assert.True(same == plain.Reads[i].Length, $"read {i}: element {same} differs");
        }

        Assert.Equal(plain.Parameters, looped.Parameters);
        Assert.Equal(plain.State, looped.State);
    }

    [Fact]
    public void A_loop_that_reads_after_every_step_stays_row_major()
    {
        // A read while still row-major must restart the count too: otherwise such a loop reordered on every
        // (StepsBeforePanelOrder + 1)th step and back at the next read, two reorderings of several steps' cost each.
        (float[] x, int[] y) = Data(1);
        foreach (Action<Sequential> read in new Action<Sequential>[] { m => _ = m.Parameters, m => m.Predict(x.AsSpan(0, Features)) })
        {
            Sequential model = Build(() => new Adam());
            using TrainingLoop loop = model.BeginTrainingLoop();
            for (int step = 0; step < (4 * TrainingLoop.StepsBeforePanelOrder) + 4; step++)
            {
                model.TrainStep(x, y, Batch);
                Assert.False(model.IsInPanelOrder, $"step {step}: the loop reordered between reads");
                read(model);
            }
        }
    }

    [Fact]
    public void A_read_puts_the_weights_back_and_the_loop_returns_to_panel_order_only_after_steps_in_a_row()
    {
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        using TrainingLoop loop = model.BeginTrainingLoop();
        Assert.Same(model, loop.Model);
        var seen = new List<bool>();
        for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
        {
            model.TrainStep(x, y, Batch);
            seen.Add(model.IsInPanelOrder);
        }

        // Row-major for StepsBeforePanelOrder steps (the first initializes the optimizer's state), then panel order.
        Assert.Equal([.. Enumerable.Repeat(false, TrainingLoop.StepsBeforePanelOrder), true, true], seen);
        Assert.Equal(TrainingLoop.StepsBeforePanelOrder, model.LoopWait);

        // A read after those steps: back to row-major, and the next wait is twice the interval since the loop began (a
        // pair of reorderings costs more than that many steps in the products' order save). A second read right after
        // it is the same read.
        int interval = TrainingLoop.StepsBeforePanelOrder + 2;
        _ = model.Parameters;
        Assert.False(model.IsInPanelOrder);
        Assert.Equal(2 * interval, model.LoopWait);
        _ = model.Gradients;
        Assert.Equal(2 * interval, model.LoopWait);
        for (int step = 0; step < 2 * interval; step++)
        {
            model.TrainStep(x, y, Batch);
            Assert.False(model.IsInPanelOrder, $"step {step} of the wait");
        }

        model.TrainStep(x, y, Batch);
        Assert.True(model.IsInPanelOrder);

        // ComputeGradients leaves row-major gradients for the caller; after reads MinStepsBetweenReads apart the wait is
        // StepsBeforePanelOrder again.
        for (int step = (2 * interval) + 1; step < TrainingLoop.MinStepsBetweenReads; step++)
        {
            model.TrainStep(x, y, Batch);
        }

        Assert.True(model.IsInPanelOrder);
        model.ComputeGradients(x, y, Batch);
        Assert.False(model.IsInPanelOrder);
        Assert.Equal(TrainingLoop.StepsBeforePanelOrder, model.LoopWait);
    }

    [Trait(IsaIndependent.Trait, IsaIndependent.Value)]
    [Fact]
    public void A_loop_that_reads_every_few_steps_stays_row_major_and_one_that_reads_seldom_does_not()
    {
        // Each pair of reorderings costs what 5-30 steps in the products' order save: a loop reading every 10 steps
        // reorders once, before its rhythm is known, then trains row-major as the same loop without BeginTrainingLoop;
        // one reading every 96 steps reorders after each read.
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        using TrainingLoop loop = model.BeginTrainingLoop();
        int Reorderings(int every, int reads)
        {
            int entered = 0;
            for (int step = 0; step < every * reads; step++)
            {
                bool was = model.IsInPanelOrder;
                model.TrainStep(x, y, Batch);
                entered += model.IsInPanelOrder && !was ? 1 : 0;
                if (step % every == every - 1)
                {
                    _ = model.Parameters;
                }
            }

            return entered;
        }

        Assert.Equal(1, Reorderings(10, 20));
        Assert.Equal(0, Reorderings(10, 20));
        // Reads one step closer than MinStepsBetweenReads: the first interval waits for twice the last (20 steps) and
        // reorders; after it, for twice its own, longer than the interval.
        Assert.Equal(1, Reorderings(TrainingLoop.MinStepsBetweenReads - 1, 4));

        // Reads 3 × MinStepsBetweenReads apart: a reordering in every interval.
        Assert.Equal(5, Reorderings(3 * TrainingLoop.MinStepsBetweenReads, 5));
    }

    [Fact]
    public void Gradients_and_a_saved_file_inside_the_loop_are_those_without_it()
    {
        (float[] x, int[] y) = Data(1);
        byte[] Save(bool loop, out float[] gradients)
        {
            Sequential model = Build(() => new Adam());
            TrainingLoop? scope = loop ? model.BeginTrainingLoop() : null;
            for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
            {
                model.TrainStep(x, y, Batch);
            }

            Assert.Equal(loop, model.IsInPanelOrder);
            gradients = model.Gradients.ToArray();
            Assert.False(model.IsInPanelOrder);
            var stream = new MemoryStream();
            ModelFile.WriteTo(model, stream);
            scope?.Dispose();
            return stream.ToArray();
        }

        byte[] plain = Save(loop: false, out float[] plainGradients);
        byte[] looped = Save(loop: true, out float[] loopedGradients);
        Assert.Equal(plainGradients, loopedGradients);
        Assert.Equal(plain, looped);
    }

    public static TheoryData<string> Views => new() { "layer.Parameters", "layer.Gradients", "dense.Weights", "dense.Bias", "optimizer.State" };

    [Theory]
    [MemberData(nameof(Views))]
    public void A_view_of_the_first_layer_or_the_optimizer_read_inside_the_loop_is_row_major(string view)
    {
        // The first layer's own views and the optimizer's state are reordered with the model's arena: read inside the
        // loop they must put it back row-major first, as model.Parameters does, not show the products' order.
        (float[] x, int[] y) = Data(1);
        float[] Read(bool loop)
        {
            Sequential model = Build(() => new Adam());
            var dense = (Dense)model.Layers[0];
            TrainingLoop? scope = loop ? model.BeginTrainingLoop() : null;
            try
            {
                for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
                {
                    model.TrainStep(x, y, Batch);
                }

                Assert.Equal(loop, model.IsInPanelOrder);
                float[] read = view switch
                {
                    "layer.Parameters" => dense.Parameters.ToArray(),
                    "layer.Gradients" => dense.Gradients.ToArray(),
                    "dense.Weights" => dense.Weights.ToArray(),
                    "dense.Bias" => dense.Bias.ToArray(),
                    _ => ((Optimizer)model.Optimizer!).State.ToArray(),
                };
                // The bias is never reordered: reading it leaves the weights where the products want them.
                Assert.Equal(loop && view == "dense.Bias", model.IsInPanelOrder);
                return read;
            }
            finally
            {
                scope?.Dispose();
            }
        }

        float[] plain = Read(loop: false), looped = Read(loop: true);
        int same = plain.AsSpan().CommonPrefixLength(looped);
        Assert.True(same == plain.Length, $"{view}: element {same} of {plain.Length} differs");
    }

    [Fact]
    public void Views_of_later_layers_and_a_size_query_leave_the_first_in_panel_order()
    {
        // Only the first layer is reordered: reading another layer's weights costs the loop nothing.
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        using TrainingLoop loop = model.BeginTrainingLoop();
        for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
        {
            model.TrainStep(x, y, Batch);
        }

        Assert.True(model.IsInPanelOrder);
        _ = ((Dense)model.Layers[2]).Weights.ToArray();
        _ = model.Layers[2].Gradients.ToArray();

        // Nor does a size query, which reads no weights.
        Assert.True(ModelFile.EstimatedBytes(model) > 4L * model.Layers.Sum(l => l.ParameterCount));
        Assert.True(model.IsInPanelOrder);
    }

    [Fact]
    public void A_refused_step_inside_the_loop_changes_nothing_and_the_loop_goes_on()
    {
        // A step refused for its arguments (a label out of range, a batch too large) after the loop has reordered: the
        // next steps and reads give what the same steps give without the refused one and without the loop.
        (float[] x, int[] y) = Data(1);
        int[] bad = (int[])y.Clone();
        bad[^1] = 10;
        float[] Run(bool loop, bool refused)
        {
            Sequential model = Build(() => new Adam());
            TrainingLoop? scope = loop ? model.BeginTrainingLoop() : null;
            try
            {
                for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 4; step++)
                {
                    model.TrainStep(x, y, Batch);
                }

                Assert.Equal(loop, model.IsInPanelOrder);
                if (refused)
                {
                    Assert.Throws<ArgumentException>(() => model.TrainStep(x, bad, Batch));
                    Assert.ThrowsAny<ArgumentException>(() => model.TrainStep(x, y, Batch + 1));
                }

                for (int step = 0; step < 3; step++)
                {
                    model.TrainStep(x, y, Batch);
                }

                return model.Parameters.ToArray();
            }
            finally
            {
                scope?.Dispose();
            }
        }

        float[] plain = Run(loop: false, refused: false);
        Assert.Equal(plain, Run(loop: true, refused: true));
        Assert.Equal(plain, Run(loop: false, refused: true));
    }

    [Fact]
    public void The_loop_holds_the_model_as_Fit_does()
    {
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        TrainingLoop loop = model.BeginTrainingLoop();
        for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
        {
            model.TrainStep(x, y, Batch);
        }

        var dataset = new NeuralCore.Data.Dataset(x, y, Features);
        string fit = Assert.Throws<InvalidOperationException>(() => model.Fit(dataset, new FitOptions { Epochs = 1 })).Message;
        Assert.Contains("inside its TrainingLoop", fit, StringComparison.Ordinal);
        Assert.Contains("dispose the loop first", fit, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => model.Compile(new SoftmaxCrossEntropy(), new Sgd()));
        Assert.Throws<InvalidOperationException>(() => model.BeginTrainingLoop());

        // Another thread: its reads and training are refused, and it cannot end the loop.
        string? predict = null, train = null, dispose = null;
        var other = new Thread(() =>
        {
            predict = Record(() => model.Predict(x.AsSpan(0, Features)));
            train = Record(() => model.TrainStep(x, y, Batch));
            dispose = Record(loop.Dispose);
        });
        other.Start();
        other.Join();
        Assert.Contains("another thread trains it", predict, StringComparison.Ordinal);
        Assert.Contains("TrainingLoop", train, StringComparison.Ordinal);
        Assert.Contains("another thread than the one that began it", dispose, StringComparison.Ordinal);

        // Refused calls changed nothing: the loop goes on, and ends once.
        Assert.True(model.IsInPanelOrder);
        model.TrainStep(x, y, Batch);
        loop.Dispose();
        loop.Dispose();
        Assert.False(model.IsInPanelOrder);

        // Released: another thread trains it now.
        string? after = "not run";
        var next = new Thread(() => after = Record(() => model.TrainStep(x, y, Batch)));
        next.Start();
        next.Join();
        Assert.Null(after);
        model.Fit(dataset, new FitOptions { Epochs = 1, BatchSize = Batch });
    }

    [Fact]
    public void A_loop_whose_thread_ended_without_disposing_it_is_ended_by_the_next_call()
    {
        // No one could dispose such a loop (Dispose must run on its thread): the model stayed held for good, and every call
        // was refused saying that another thread trained it.
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        Sequential twin = Build(() => new Adam());
        // A thread that begins a loop, runs it into the products' order and ends without disposing it.
        TrainingLoop Abandoned()
        {
            TrainingLoop? begun = null;
            var worker = new Thread(() =>
            {
                begun = model.BeginTrainingLoop();
                for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
                {
                    model.TrainStep(x, y, Batch);
                }
            });
            worker.Start();
            worker.Join();
            Assert.True(model.IsInPanelOrder);
            return begun!;
        }

        TrainingLoop loop = Abandoned();
        for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 2; step++)
        {
            twin.TrainStep(x, y, Batch);
        }

        // The next call ends the loop as its Dispose would have, a view read from here included: the weights row-major,
        // those of the same steps without it.
        Assert.Equal(twin.Parameters.ToArray(), model.Parameters.ToArray());
        Assert.False(model.IsInPanelOrder);
        Assert.Equal(twin.Predict(x.AsSpan(0, Features)), model.Predict(x.AsSpan(0, Features)));

        // The model is free for training on any thread, and the ended loop's Dispose, from here, has nothing left to end.
        model.TrainStep(x, y, Batch);
        loop.Dispose();
        using (TrainingLoop again = model.BeginTrainingLoop())
        {
            model.TrainStep(x, y, Batch);
        }

        model.Fit(new NeuralCore.Data.Dataset(x, y, Features), new FitOptions { Epochs = 1, BatchSize = Batch });

        // Disposed first from another thread once its own has ended: that ends it (it threw "dispose it on that thread").
        Abandoned().Dispose();
        Assert.False(model.IsInPanelOrder);
        model.TrainStep(x, y, Batch);
    }

    private static string? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    }

    private static string? Record<T>(Func<T> action) => Record(() => { _ = action(); });

    [Fact]
    public void An_uncompiled_model_has_no_loop()
    {
        var model = new Sequential(4).Add(new Dense(2));
        string message = Assert.Throws<InvalidOperationException>(() => model.BeginTrainingLoop()).Message;
        Assert.Contains("not compiled", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loop_whose_optimizer_does_not_allow_panel_order_trains_row_major()
    {
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam() { GlobalClipNorm = 1f });
        using TrainingLoop loop = model.BeginTrainingLoop();
        for (int step = 0; step < 10; step++)
        {
            model.TrainStep(x, y, Batch);
            Assert.False(model.IsInPanelOrder);
        }
    }

    [Fact]
    public void Steps_in_a_loop_allocate_nothing_on_the_calling_thread()
    {
        (float[] x, int[] y) = Data(1);
        Sequential model = Build(() => new Adam());
        using TrainingLoop loop = model.BeginTrainingLoop();
        for (int step = 0; step < TrainingLoop.StepsBeforePanelOrder + 10; step++)
        {
            model.TrainStep(x, y, Batch);
        }

        Assert.True(model.IsInPanelOrder);
        long before = AllocationBaseline.Read();
        for (int step = 0; step < 20; step++)
        {
            model.TrainStep(x, y, Batch);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"the calling thread allocated {allocated} bytes in 20 steps of a loop");
    }
}
