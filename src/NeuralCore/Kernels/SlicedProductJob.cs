using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// A product <c>C (+)= A·B</c> plus epilogue divided into <c>Slices</c> items whose slices of C do not overlap: what the
/// unpacked paths (<see cref="GemmRows"/> by columns, <see cref="GemmNarrow"/> by rows) hand to the worker pool. Each
/// thread keeps one instance, so a product allocates nothing.
/// </summary>
internal abstract unsafe class SlicedProductJob : IParallelWork
{
    protected float* A { get; private set; }

    protected float* B { get; private set; }

    protected float* C { get; private set; }

    protected int M { get; private set; }

    protected int N { get; private set; }

    protected int K { get; private set; }

    protected bool Accumulate { get; private set; }

    protected GemmEpilogue Epilogue { get; private set; }

    protected int Slices { get; private set; }

    public void Set(float* a, float* b, float* c, int m, int n, int k, bool accumulate, in GemmEpilogue epilogue, int slices)
    {
        A = a;
        B = b;
        C = c;
        (M, N, K, Accumulate, Slices) = (m, n, k, accumulate, slices);
        Epilogue = epilogue;
    }

    /// <summary>Drops the pointers once the product is done.</summary>
    public void Clear()
    {
        A = null;
        B = null;
        C = null;
    }

    public abstract void Execute(int index);
}
