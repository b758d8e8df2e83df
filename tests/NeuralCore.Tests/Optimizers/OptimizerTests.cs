using NeuralCore.Optimizers;
using Xunit;

namespace NeuralCore.Tests.Optimizers;

public class OptimizerTests
{
    [Theory]
    [InlineData("clipnorm")]
    [InlineData("global_clipnorm")]
    [InlineData("clipvalue")]
    public void A_thread_whose_first_update_clips_allocates_nothing(string clipping)
    {
        // A worker of a multi-thread step runs its first clipped update whenever it first takes over a range, which can
        // come mid-training: a buffer of the thread's own (16 KB) was allocated there, in a step that must allocate nothing.
        const int count = 10_000;
        float[] parameters = [.. Seeded.Uniform(count, 1)], gradients = [.. Seeded.Uniform(count, 2).Select(v => v * 1e4f)];
        Adam Make()
        {
            Adam adam = clipping switch
            {
                "clipnorm" => new Adam(1e-3f) { ClipNorm = 1f },
                "global_clipnorm" => new Adam(1e-3f) { GlobalClipNorm = 1f },
                _ => new Adam(1e-3f) { ClipValue = 1f },
            };
            adam.Initialize(count);
            return adam;
        }

        // Compiled and its statics set up on this thread first: what the fresh thread measures is the update's own.
        Adam warm = Make();
        float[] expected = parameters.ToArray();
        warm.Update(expected, gradients);
        Adam adam = Make();
        float[] copy = parameters.ToArray();
        long allocated = -1;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                long before = AllocationBaseline.Read();
                adam.Update(copy, gradients);
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            catch (Exception ex)
            {
                // Thrown on a thread of its own, it would end the test run instead of failing this test.
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();

        Assert.Null(failure);
        Assert.Equal(0, allocated);

        // The same update as on the first thread, and one that changed the weights.
        Assert.Equal(expected, copy);
        Assert.NotEqual(parameters, copy);
    }
}
