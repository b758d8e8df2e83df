using NeuralCore.Threading;

namespace NeuralCore.Kernels;

/// <summary>
/// One product in flight: item i computes slice i of C (<see cref="GemmPlan"/>), packing the rows of A it reads into
/// its own thread's buffer and the columns of B chunk by chunk.
/// </summary>
internal sealed unsafe class GemmJob : IParallelWork
{
    private GemmPlan _plan;
    private GemmEpilogue _epilogue;
    private float* _a;
    private float* _b;
    private float* _c;
    private float* _columnSums;
    private int _m;
    private int _n;
    private int _k;
    private bool _transposeA;
    private bool _transposeB;
    private bool _accumulate;

    public void Set(in GemmPlan plan, float* a, float* b, float* c, int m, int n, int k,
        bool transposeA, bool transposeB, bool accumulate, in GemmEpilogue epilogue, float* columnSums)
    {
        _columnSums = columnSums;
        _plan = plan;
        _epilogue = epilogue;
        _a = a;
        _b = b;
        _c = c;
        (_m, _n, _k) = (m, n, k);
        (_transposeA, _transposeB, _accumulate) = (transposeA, transposeB, accumulate);
    }

    public void Clear()
    {
        _a = null;
        _b = null;
        _c = null;
        _columnSums = null;
    }

    public void Execute(int index)
    {
        ref readonly GemmPlan plan = ref _plan;
        (int rowFirst, int rowEnd) = GemmPlan.Slice(plan.MPanels, plan.RowSlices, index / plan.ColumnSlices);
        (int colFirst, int colEnd) = GemmPlan.Slice(plan.NPanels, plan.ColumnSlices, index % plan.ColumnSlices);
        float* packedA = GemmBuffers.A(PackedALength);
        PackARows(packedA, rowFirst, rowEnd);

        // Of several slices over the same columns, the first takes their sums.
        ComputeSlice(packedA, rowFirst, rowEnd, colFirst, colEnd, rowFirst == 0 ? _columnSums : null);
    }

    private long PackedALength => (long)_plan.MPanels * _plan.Mr * _k;

    // The packed k block kb holds every MR panel of A for columns [kb*Kc, kb*Kc + kc).
    private float* PackedBlock(float* packedA, int kb) => packedA + ((long)kb * _plan.Kc * _plan.MPanels * _plan.Mr);

    // Packs MR panels [first, end) of A, every k block.
    private void PackARows(float* packedA, int first, int end)
    {
        if (first >= end)
        {
            return;
        }

        int mr = _plan.Mr;
        int row0 = first * mr;
        int rows = Math.Min(end * mr, _m) - row0;
        for (int kb = 0; kb < _plan.KBlocks; kb++)
        {
            int p0 = kb * _plan.Kc;
            int kc = Math.Min(_plan.Kc, _k - p0);
            GemmPacking.PackA(PackedBlock(packedA, kb) + ((long)row0 * kc), _a, _m, _k, _transposeA, row0, rows, p0, kc, mr);
        }
    }

    private void ComputeSlice(float* packedA, int rowFirst, int rowEnd, int colFirst, int colEnd, float* columnSums)
    {
        ref readonly GemmPlan plan = ref _plan;
        int mr = plan.Mr, nr = plan.Nr;
        int row0 = rowFirst * mr, rowLimit = Math.Min(rowEnd * mr, _m);
        int col0 = colFirst * nr, colLimit = Math.Min(colEnd * nr, _n);
        if (row0 >= rowLimit || col0 >= colLimit)
        {
            return;
        }

        float* bp = GemmBuffers.B;
        float* scratch = GemmBuffers.Tile;
        int chunkWidth = GemmPlan.NcMax / nr * nr;
        int mBlock = Math.Max(1, GemmPlan.McMax / mr) * mr;
        for (int kb = 0; kb < plan.KBlocks; kb++)
        {
            int p0 = kb * plan.Kc;
            int kc = Math.Min(plan.Kc, _k - p0);
            float* aBlock = PackedBlock(packedA, kb);
            bool add = _accumulate || kb > 0;
            bool last = kb == plan.KBlocks - 1;
            for (int jc = col0; jc < colLimit; jc += chunkWidth)
            {
                int cols = Math.Min(chunkWidth, colLimit - jc);

                // B is always packed: reading a row-major B in place (kc rows n floats apart) measured 20-40% slower
                // than copying each chunk into contiguous panels first (docs/benchmarks.md).
                GemmPacking.PackB(bp, _b, _n, _k, _transposeB, jc, cols, p0, kc, nr, columnSums is null ? null : columnSums + jc);
                for (int ic = row0; ic < rowLimit; ic += mBlock)
                {
                    int rows = Math.Min(mBlock, rowLimit - ic);
                    for (int jr = 0; jr < cols; jr += nr)
                    {
                        float* bPanel = bp + ((long)jr * kc);
                        int nValid = Math.Min(nr, cols - jr);
                        for (int ir = 0; ir < rows; ir += mr)
                        {
                            int row = ic + ir;
                            int mValid = Math.Min(mr, rows - ir);
                            float* aPanel = aBlock + ((long)row * kc);
                            float* cTile = _c + ((long)row * _n) + jc + jr;
                            if (mValid == mr && nValid == nr)
                            {
                                plan.Kernel(kc, aPanel, bPanel, cTile, _n, add);
                            }
                            else
                            {
                                // The same FMA chains into a full scratch tile, then only the valid corner into C.
                                plan.Kernel(kc, aPanel, bPanel, scratch, nr, false);
                                GemmMicroKernels.StoreEdge(scratch, nr, cTile, _n, add, mValid, nValid);
                            }

                            if (last && _epilogue.Kind != GemmEpilogueKind.None)
                            {
                                for (int r = 0; r < mValid; r++)
                                {
                                    _epilogue.ApplyRow(cTile + ((long)r * _n), row + r, jc + jr, nValid);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
