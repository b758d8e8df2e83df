using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

[Collection(SerialTests.Name)]
public class GemmDeterminismTests
{
    public static TheoryData<int, int, int, bool, bool> Shapes() => new()
    {
        { 128, 1024, 784, false, false },
        { 784, 512, 128, true, false },
        { 128, 784, 256, false, true },
        { 300, 10, 513, false, false },
        { 1, 1000, 300, false, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void One_thread_and_many_threads_agree_bitwise(int m, int n, int k, bool transposeA, bool transposeB)
    {
        float[] a = Seeded.Uniform(m * k, 11);
        float[] b = Seeded.Uniform(k * n, 12);
        int saved = Parallelism.DegreeOfParallelism;
        try
        {
            foreach (KernelIsa isa in KernelIsaSupport.Supported)
            {
                float[] single = Seeded.Uniform(m * n, 13);
                Parallelism.DegreeOfParallelism = 1;
                Gemm.MultiplyOn(isa, a, b, single, m, n, k, transposeA, transposeB, accumulate: true);

                foreach (int threads in new[] { 2, 3, 8 })
                {
                    float[] parallel = Seeded.Uniform(m * n, 13);
                    Parallelism.DegreeOfParallelism = threads;
                    Parallelism.FmaThreadsOverride = threads;
                    Gemm.MultiplyOn(isa, a, b, parallel, m, n, k, transposeA, transposeB, accumulate: true);
                    for (int i = 0; i < single.Length; i++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(single[i]) == BitConverter.SingleToInt32Bits(parallel[i]),
                            $"{isa}, {threads} threads: element {i} is {parallel[i]:R}, one thread gave {single[i]:R}");
                    }
                }
            }
        }
        finally
        {
            Parallelism.DegreeOfParallelism = saved;
            Parallelism.FmaThreadsOverride = 0;
        }
    }
}
