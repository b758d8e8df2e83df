using NeuralCore.Layers;
using NeuralCore.Models;

namespace NeuralCore.Tests.Models;

public class ConcurrentPredictTests
{
    [Fact]
    public void Predict_from_many_threads_matches_sequential_calls()
    {
        var model = new Sequential(784, 3).Add(new Dense(64)).Add(new Relu()).Add(new Dropout(0.5f)).Add(new Dense(10));
        const int samples = 64;
        float[] x = Seeded.Uniform(samples * 784, 4);
        float[][] expected = [.. Enumerable.Range(0, samples).Select(i => model.Predict(x.AsSpan(i * 784, 784)))];

        float[][] actual = new float[samples * 8][];
        Parallel.For(0, samples * 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int sample = i % samples;
            actual[i] = model.Predict(x.AsSpan(sample * 784, 784));
        });

        for (int i = 0; i < actual.Length; i++)
        {
            Assert.Equal(expected[i % samples], actual[i]);
        }
    }
}
