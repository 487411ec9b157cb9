package coretest

func operatorCases() []testCase { return nil }
