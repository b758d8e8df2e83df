#!/bin/bash
B=/tmp/wt_before/benchmarks/compare/NeuralCoreCompare/bin/Release/net10.0/NeuralCoreCompare.dll
A=/work/main/benchmarks/compare/NeuralCoreCompare/bin/Release/net10.0/NeuralCoreCompare.dll
out=/tmp/beforeafter.jsonl; : > $out
for rep in 1 2 3; do
 for h in 128 512; do for b in 32 128; do for t in 1 2; do
  for v in before after; do
   dll=$B; [ $v = after ] && dll=$A
   line=$(cd /work/main && dotnet $dll --hidden $h --batch $b --epochs 3 --threads $t 2>/dev/null | tail -1)
   echo "{\"version\":\"$v\",\"rep\":$rep,\"run\":$line}" >> $out
  done
 done; done; done
done
echo done >> /tmp/beforeafter.done
