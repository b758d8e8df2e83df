#!/usr/bin/env python3
"""Reference for PermutationTests.Order_is_pinned_across_versions, written from the published algorithms rather than
from NeuralCore's code: SplitMix64 seeding, xoshiro128** (Blackman and Vigna), Lemire's unbiased bounded integers,
and Fisher-Yates from the end (for i = n-1 .. 1: swap i with j uniform in [0, i])."""

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Xoshiro128StarStar:
    def __init__(self, seed):
        state, a = splitmix64(seed)
        state, b = splitmix64(state)
        self.s = [a & M32, a >> 32, b & M32, b >> 32]
        if not any(self.s):
            self.s[0] = 1

    def next_u32(self):
        s = self.s
        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def next_int(self, bound):
        product = self.next_u32() * bound
        low = product & M32
        if low < bound:
            threshold = ((1 << 32) - bound) % bound
            while low < threshold:
                product = self.next_u32() * bound
                low = product & M32
        return product >> 32


def permutation(count, seed):
    rng = Xoshiro128StarStar(seed)
    values = list(range(count))
    for i in range(count - 1, 0, -1):
        j = rng.next_int(i + 1)
        values[i], values[j] = values[j], values[i]
    return values


if __name__ == "__main__":
    print("Create(10, 42) =", permutation(10, 42))
    print("Create(16, 0) =", permutation(16, 0))
